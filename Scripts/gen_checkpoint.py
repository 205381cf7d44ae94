#!/usr/bin/env python3
"""Generate a LLaMA-shaped sharded safetensors checkpoint of a given size for benchmarks.

    python3 Scripts/gen_checkpoint.py OUT_DIR --gib 4 [--tensors N] [--shards S] [--sparse]

Writes model-0000i-of-0000S.safetensors shards (N BF16 tensors of [4096, cols] sharing --gib)
plus model.safetensors.index.json and a config.json, in the layout transformers writes. With
--sparse the tensor data are holes (the files take no disk space and read as zeros): enough for
benchmarks that only read headers. Dense data are BF16 values of a normal distribution (scale 0.02,
as in trained weights), generated once per MiB and repeated; numpy is used when present, otherwise a
slower pure-Python path.
"""
import argparse
import json
import os
import struct

ROWS = 4096


def bf16_block(nbytes):
    """nbytes of BF16 values drawn from N(0, 0.02), little-endian."""
    try:
        import numpy as np
        x = np.random.default_rng(0).standard_normal(nbytes // 2).astype(np.float32) * 0.02
        return (x.view(np.uint32) >> 16).astype("<u2").tobytes()
    except ImportError:
        import random
        rng = random.Random(0)
        out = bytearray()
        for _ in range(nbytes // 2):
            bits = struct.unpack("<I", struct.pack("<f", rng.gauss(0, 0.02)))[0]
            out += struct.pack("<H", bits >> 16)
        return bytes(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--tensors", type=int, default=64)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--sparse", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    count = args.tensors
    cols = max(256, int(args.gib * (1 << 30) / count / 2 / ROWS) // 256 * 256)
    COLS = cols
    TENSOR_BYTES = ROWS * COLS * 2
    PER_SHARD = -(-count // args.shards)
    kinds = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"]
    names = [f"model.layers.{i // 4}.{kinds[i % 4]}.weight" for i in range(count)]
    shards = [names[i:i + PER_SHARD] for i in range(0, count, PER_SHARD)]
    weight_map = {}
    block = bf16_block(1 << 20)
    for s, members in enumerate(shards):
        fname = f"model-{s + 1:05d}-of-{len(shards):05d}.safetensors"
        header = {"__metadata__": {"format": "pt"}}
        for k, name in enumerate(members):
            header[name] = {"dtype": "BF16", "shape": [ROWS, COLS],
                            "data_offsets": [k * TENSOR_BYTES, (k + 1) * TENSOR_BYTES]}
            weight_map[name] = fname
        h = json.dumps(header).encode()
        h += b" " * (-len(h) % 8)
        with open(os.path.join(args.out, fname), "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h)
            total = len(members) * TENSOR_BYTES
            if args.sparse:
                f.truncate(8 + len(h) + total)
            else:
                left = total
                while left > 0:
                    f.write(block[:min(left, len(block))])
                    left -= len(block)
    with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": count * TENSOR_BYTES}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": COLS,
                   "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": -(-count // 4),
                   "intermediate_size": 4 * COLS, "vocab_size": 32000, "rms_norm_eps": 1e-5,
                   "rope_theta": 500000.0, "torch_dtype": "bfloat16"}, f)


if __name__ == "__main__":
    main()
