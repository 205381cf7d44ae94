#!/usr/bin/env python3
"""hasskit's engine against llama.cpp on the same weights, in the same run.

    pip install llama-cpp-python gguf torch safetensors   # builds llama.cpp from source
    python3 Scripts/bench-llamacpp.py MODEL_DIR [--types q8_0,q4_0,q4_k] [--threads 1,2] [--rounds 3]

MODEL_DIR is a LLaMA checkpoint (Scripts/gen_llama.py writes a 0.75 B random one; --layers 22, the 1.1 B shape of the README). For each type the
script writes the same weights twice: a `.hkw` through `hasskit convert`, and a GGUF through the
`gguf` package (F16 matrices, F32 norms, the same tensor names llama.cpp's converter writes),
quantized by llama.cpp's own `llama_model_quantize` (Q8_0, Q4_0, Q4_K_S for q4_k). Then, round
after round, it times llama.cpp (through llama-cpp-python: one `eval` of 128 tokens for pp128, 64
single-token `eval`s for tg64) and `hasskit bench` (the same tests), the two taking turns to go
first, and prints medians, the hasskit / llama.cpp ratio (the median of the per-round ratios, with
their range: on a shared host one round's ratio can be 20 % off another's), and both against the
bound `hasskit bench` measured in the same round (decode: the memory bound; prefill: the int8
multiply-add roof of the kernels' instruction). The speed of random weights equals that of trained ones: every weight is
read and multiplied the same way. The GGUF's vocabulary is a placeholder (no text is decoded).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def write_gguf(model_dir, out):
    import gguf
    import torch
    from safetensors.torch import load_file

    config = json.load(open(os.path.join(model_dir, "config.json")))
    tensors = {}
    for name in sorted(os.listdir(model_dir)):
        if name.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(model_dir, name)))
    w = gguf.GGUFWriter(out, "llama")
    w.add_block_count(config["num_hidden_layers"])
    w.add_context_length(config.get("max_position_embeddings", 2048))
    w.add_embedding_length(config["hidden_size"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(config["num_attention_heads"])
    w.add_head_count_kv(config.get("num_key_value_heads", config["num_attention_heads"]))
    w.add_rope_freq_base(float(config.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-5)))
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    vocab = config["vocab_size"]
    w.add_tokenizer_model("llama")
    tokens = [b"<unk>", b"<s>", b"</s>"] + [f"<0x{i:02X}>".encode() for i in range(256)]
    tokens += [f"t{i}".encode() for i in range(vocab - len(tokens))]
    types = [2, 3, 3] + [6] * 256 + [1] * (vocab - 259)
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * vocab)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"}
    per_layer = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
                 "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
                 "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
    for name, t in tensors.items():
        if name in names:
            out_name = names[name]
        else:
            parts = name.split(".")  # model.layers.N.<module>.<sub>.weight
            out_name = f"blk.{parts[2]}.{per_layer['.'.join(parts[3:-1])]}.weight"
        a = t.to(torch.float32).numpy()
        w.add_tensor(out_name, a if a.ndim == 1 else a.astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def quantize(src, dst, ftype):
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = os.cpu_count()
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
    if rc != 0:
        sys.exit(f"llama_model_quantize failed ({rc})")


def llamacpp_bench(path, threads, pps=(128,), tg=64):
    """Prompt processing of each length in `pps` (one eval; llama.cpp computes the last logits
    only) and `tg` single-token evals; tokens per second."""
    from llama_cpp import Llama
    longest = max(pps)
    llm = Llama(model_path=path, n_threads=threads, n_threads_batch=threads, n_ctx=max(512, longest + 8),
                n_batch=max(512, longest), n_ubatch=max(512, longest), verbose=False)
    prompt = [(i * 7919) % 30000 + 300 for i in range(longest)]
    llm.reset()
    llm.eval(prompt[:8])  # warm-up
    rates = {}
    for pp in pps:
        llm.reset()
        t = time.perf_counter()
        llm.eval(prompt[:pp])
        rates[f"pp{pp}"] = pp / (time.perf_counter() - t)
    llm.reset()
    llm.eval([1])
    t = time.perf_counter()
    for i in range(tg):
        llm.eval([prompt[i % longest]])
    rates[f"tg{tg}"] = tg / (time.perf_counter() - t)
    del llm
    return rates


def hasskit_bench(hasskit, path, threads, pps=(128,)):
    out = subprocess.run([hasskit, "bench", path, "-t", str(threads), "-r", "1", "-p", ",".join(map(str, pps)), "--json"],
                         capture_output=True, text=True, check=True).stdout
    rows = {r["test"]: r for r in json.loads(out)}
    rates = {k: r["tokens_per_second"] for k, r in rows.items()}
    # Each test's bound from the same run: memory for tg, the int8 multiply-add roof for pp.
    bounds = {k: (r["bound"], r["bound_tokens_per_second"]) for k, r in rows.items()}
    return rates, bounds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--types", default="q8_0,q4_0,q4_k")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pp", default="128", help="prompt lengths, comma-separated")
    ap.add_argument("--hasskit", default=".build/release/hasskit")
    args = ap.parse_args()
    work = args.model_dir.rstrip("/") + "-bench"
    os.makedirs(work, exist_ok=True)
    f16 = os.path.join(work, "model-f16.gguf")
    if not os.path.exists(f16):
        write_gguf(args.model_dir, f16)
    ftypes = {"q8_0": 7, "q4_0": 2, "q4_k": 14, "q4_k_m": 15}
    pps = tuple(int(p) for p in args.pp.split(","))
    print("type   threads  test   llama.cpp t/s  hasskit t/s  hasskit/llama.cpp  (rounds' range)  bound (kind)   llama.cpp of bound  hasskit of bound")
    for typ in args.types.split(","):
        gg = os.path.join(work, f"model-{typ}.gguf")
        hk = os.path.join(work, f"model-{typ}.hkw")
        if not os.path.exists(gg):
            quantize(f16, gg, ftypes[typ])
        if not os.path.exists(hk):
            subprocess.run([args.hasskit, "convert", args.model_dir, "--out", hk, "--type", typ], check=True, stdout=subprocess.DEVNULL)
        for threads in [int(t) for t in args.threads.split(",")]:
            lc, hs, bounds = [], [], []
            for r in range(args.rounds):
                # Which engine goes first alternates, so that neither always runs on the host's
                # state the other left behind.
                if r % 2 == 0:
                    lc.append(llamacpp_bench(gg, threads, pps))
                rates, bound = hasskit_bench(args.hasskit, hk, threads, pps)
                hs.append(rates); bounds.append(bound)
                if r % 2 == 1:
                    lc.append(llamacpp_bench(gg, threads, pps))
            m = statistics.median
            for test in [f"pp{p}" for p in pps] + ["tg64"]:
                a = [r[test] for r in lc]; c = [r[test] for r in hs]
                kind = bounds[0][test][0]; b = m(x[test][1] for x in bounds)
                ratios = [y / x for x, y in zip(a, c)]
                spread = f"{min(ratios):.2f}–{max(ratios):.2f}"
                print(f"{typ:6} {threads:7}  {test:6} {m(a):13.1f}  {m(c):11.1f}  {m(ratios):17.2f}  {spread:>15}"
                      f"  {b:7.1f} ({kind:6})  {m(a) / b:18.2f}  {m(c) / b:16.2f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
