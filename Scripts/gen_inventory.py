#!/usr/bin/env python3
"""Write Tests/Fixtures/inventory.json: for every checkpoint fixture, what the reference libraries
(safetensors, torch.load(weights_only=True)) read from it — tensor names, dtypes, shapes, and the
SHA-256 of each tensor's values converted to float32 little-endian by torch (`t.float()`).

The Swift tests compare hasskit's readers against this file. Run it after changing fixtures:
    pip install torch safetensors numpy && python3 Scripts/gen_inventory.py
"""
import hashlib
import json
import os
import sys

import torch
from safetensors import safe_open

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")

DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16", torch.int32: "I32", torch.int64: "I64",
    torch.bool: "BOOL", torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
}

CHECKPOINTS = [
    "llama3", "llama2", "qwen2", "deepseek_v3", "draft_llama2", "draft_llama2_legacy", "draft_llama3",
    "draft_qwen2", "dtypes/fp8_e4m3fn_all_codes.safetensors",
    "hostile/ok_torch_minimal.bin", "hostile/ok_legacy_minimal.bin", "hostile/ok_shared_storage.bin",
    "hostile/ok_noncontiguous.bin", "hostile/ok_nested_state_dict.bin", "hostile/ok_st_empty.safetensors",
    "hostile/ok_st_zero_size_and_scalar.safetensors", "hostile/ok_st_unpadded_header.safetensors",
    "hostile/ok_st_leading_whitespace_header.safetensors", "hostile/zip_big_endian.bin",
]


def load(path):
    full = os.path.join(ROOT, path)
    if os.path.isdir(full):
        names = os.listdir(full)
        files = sorted(n for n in names if n.endswith(".safetensors")) or sorted(n for n in names if n.endswith(".bin"))
        tensors = {}
        for f in files:
            tensors.update(load(os.path.join(path, f))[1])
        fmt = "safetensors" if files[0].endswith(".safetensors") else None
        return fmt, tensors
    if full.endswith(".safetensors"):
        out = {}
        with safe_open(full, "pt") as f:
            for k in f.keys():
                out[k] = f.get_tensor(k)
        return "safetensors", out
    obj = torch.load(full, map_location="cpu", weights_only=True)
    if "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    return None, {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def main():
    inventory = {
        "generator": "Scripts/gen_inventory.py",
        "torch": torch.__version__,
        "values": "sha256 of t.float().contiguous() as little-endian float32 bytes",
        "checkpoints": {},
    }
    for path in CHECKPOINTS:
        _, tensors = load(path)
        rows = []
        for name in sorted(tensors):
            t = tensors[name]
            values = t.float().contiguous().numpy().astype("<f4").tobytes()
            rows.append({
                "name": name,
                "dtype": DTYPES[t.dtype],
                "shape": list(t.shape),
                "f32_sha256": hashlib.sha256(values).hexdigest(),
            })
        inventory["checkpoints"][path] = rows
    with open(os.path.join(ROOT, "inventory.json"), "w") as f:
        json.dump(inventory, f, indent=1)
        f.write("\n")
    print(f"wrote {sum(len(v) for v in inventory['checkpoints'].values())} tensors", file=sys.stderr)


if __name__ == "__main__":
    main()
