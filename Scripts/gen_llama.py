#!/usr/bin/env python3
"""Write a runnable random LLaMA checkpoint (safetensors, BF16) of a chosen size, for engine
benchmarks: the names and config.json are those transformers writes for LlamaForCausalLM.

    python3 Scripts/gen_llama.py OUT_DIR [--hidden 2048 --layers 12 --ffn 5632 --vocab 32000 --heads 16 --kv-heads 4]

The default is about 0.75 B parameters (1.5 GB in BF16). Weights are N(0, 0.02) and norms 1, so the
text is meaningless but every matrix is read per token exactly as in a trained model.

With --head HEAD_DIR the base's o_proj and down_proj are zero (every layer still reads all its
weights, but writes nothing) and lm_head is scaled up, so the base decodes as a peaked bigram model;
HEAD_DIR gets a HASS head (fc = [50·I | 0], its layer writing zeros) that predicts that base exactly,
with the base's probabilities up to the per-token RMS (so trees are ranked as a trained head ranks them):
the upper bound of speculative decoding, for measuring what a tree can gain on this CPU
(the construction is explained in Tests/InferenceTests/PerfectDraftTests.swift).
"""
import argparse
import json
import os
import struct

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=5632)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=4096, help="max_position_embeddings")
    ap.add_argument("--head", help="also write a HASS head that predicts the base exactly (see above)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    h, hd = a.hidden, a.hidden // a.heads
    shapes = [("model.embed_tokens.weight", (a.vocab, h)), ("lm_head.weight", (a.vocab, h)), ("model.norm.weight", (h,))]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        shapes += [(p + "input_layernorm.weight", (h,)), (p + "post_attention_layernorm.weight", (h,)),
                   (p + "self_attn.q_proj.weight", (h, h)), (p + "self_attn.k_proj.weight", (a.kv_heads * hd, h)),
                   (p + "self_attn.v_proj.weight", (a.kv_heads * hd, h)), (p + "self_attn.o_proj.weight", (h, h)),
                   (p + "mlp.gate_proj.weight", (a.ffn, h)), (p + "mlp.up_proj.weight", (a.ffn, h)),
                   (p + "mlp.down_proj.weight", (h, a.ffn))]
    zero = set()
    if a.head:
        zero = {n for n, _ in shapes if n.endswith("o_proj.weight") or n.endswith("down_proj.weight")}
    write(os.path.join(a.out, "model.safetensors"), shapes, zero, {"lm_head.weight": 25.0} if a.head else {})
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": h,
              "intermediate_size": a.ffn, "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
              "num_key_value_heads": a.kv_heads, "vocab_size": a.vocab, "rms_norm_eps": 1e-5,
              "rope_theta": 10000.0, "max_position_embeddings": a.context, "bos_token_id": 1, "eos_token_id": 2,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16", "hidden_act": "silu"}
    json.dump(config, open(os.path.join(a.out, "config.json"), "w"), indent=1)
    if a.head:
        os.makedirs(a.head, exist_ok=True)
        p = "layers.0."
        head = [("fc.weight", (h, 2 * h)), (p + "post_attention_layernorm.weight", (h,)),
                (p + "self_attn.q_proj.weight", (h, h)), (p + "self_attn.k_proj.weight", (a.kv_heads * hd, h)),
                (p + "self_attn.v_proj.weight", (a.kv_heads * hd, h)), (p + "self_attn.o_proj.weight", (h, h)),
                (p + "mlp.gate_proj.weight", (a.ffn, h)), (p + "mlp.up_proj.weight", (a.ffn, h)),
                (p + "mlp.down_proj.weight", (h, a.ffn))]
        fc = np.zeros((h, 2 * h), dtype=np.float32)
        # 50 = 1 / 0.02, the RMS of the embeddings: the head has no final norm, so its feature c·e
        # must carry the scale the base's RMSNorm gives e/rms(e), or its distribution comes out
        # nearly flat (argmax right, every probability near 1/vocab) and EAGLE-2's tree selection,
        # which ranks nodes by cumulative log-probability, spends the budget on first-level siblings.
        fc[:, :h] = np.eye(h, dtype=np.float32) * 50.0
        write(os.path.join(a.head, "model.safetensors"), head, {p + "self_attn.o_proj.weight", p + "mlp.down_proj.weight"},
              {}, fixed={"fc.weight": fc})
        json.dump(dict(config, num_hidden_layers=1, bias=False), open(os.path.join(a.head, "config.json"), "w"), indent=1)


def write(path, shapes, zero, scale, fixed=None):
    """BF16 safetensors: norms 1, names in `zero` all zeros, others N(0, 0.02) × scale[name]."""
    header, offset = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob)
        for name, shape in shapes:
            if fixed and name in fixed:
                x = fixed[name]
            elif len(shape) == 1:
                x = np.ones(shape, dtype=np.float32)
            elif name in zero:
                x = np.zeros(shape, dtype=np.float32)
            else:
                x = rng.standard_normal(shape, dtype=np.float32) * 0.02 * scale.get(name, 1.0)
            f.write((x.view(np.uint32) >> 16).astype("<u2").tobytes())


if __name__ == "__main__":
    main()
