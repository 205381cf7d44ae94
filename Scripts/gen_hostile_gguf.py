#!/usr/bin/env python3
"""Hostile GGUF files for the corpus (Tests/Fixtures/hostile/gguf_*.gguf) and their lines in
expectations.json, with what gguf-py's GGUFReader does with each (pip install gguf numpy).
Run from the package root: python3 Scripts/gen_hostile_gguf.py"""
import json
import os
import struct

import numpy as np
from gguf import GGUFReader, GGUFWriter

D = "Tests/Fixtures/hostile"


def valid():
    path = "/tmp/hasskit-valid.gguf"
    w = GGUFWriter(path, "llama")
    w.add_block_count(1)
    w.add_tensor("a.weight", np.arange(64, dtype=np.float32).reshape(2, 32))
    w.add_tensor("b.weight", np.ones((32,), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return bytearray(open(path, "rb").read())


def find(b, needle, start=0):
    i = b.find(needle, start)
    assert i >= 0, needle
    return i


def cases():
    v = valid()
    out = []
    def add(name, data, reason):
        out.append((name, bytes(data), reason))
    add("gguf_truncated_header.gguf", v[:20], "ends inside the header counts")
    add("gguf_truncated_data.gguf", v[:-8], "the last tensor's bytes run past the end of the file")
    b = v[:]; b[4:8] = struct.pack("<I", 1); add("gguf_version1.gguf", b, "GGUF version 1 (32-bit counts), not read")
    b = v[:]; b[8:16] = struct.pack("<Q", 1 << 40); add("gguf_huge_tensor_count.gguf", b, "2^40 tensors declared")
    b = v[:]; b[16:24] = struct.pack("<Q", (1 << 64) - 1); add("gguf_huge_kv_count.gguf", b, "2^64-1 metadata entries declared")
    b = v[:]; b[24:32] = struct.pack("<Q", (1 << 63)); add("gguf_huge_key_length.gguf", b, "a key length past the end of the file")
    # Tensor infos: name, n_dims, dims, type, offset.
    i = find(v, b"a.weight") + len(b"a.weight")
    b = v[:]; b[i:i + 4] = struct.pack("<I", 9); add("gguf_nine_dims.gguf", b, "a tensor with 9 dimensions")
    b = v[:]; b[i + 4:i + 12] = struct.pack("<Q", 0); add("gguf_zero_dim.gguf", b, "a dimension of 0")
    b = v[:]; b[i + 20:i + 24] = struct.pack("<I", 99); add("gguf_unknown_type.gguf", b, "ggml type 99")
    b = v[:]; b[i + 24:i + 32] = struct.pack("<Q", 4); add("gguf_misaligned_offset.gguf", b, "an offset not aligned to 32")
    b = v[:]; b[i + 24:i + 32] = struct.pack("<Q", 1 << 50); add("gguf_offset_past_end.gguf", b, "an offset far past the end")
    j = find(v, b"b.weight") + len(b"b.weight")
    b = v[:]; b[j + 16:j + 24] = struct.pack("<Q", 0); add("gguf_overlapping_tensors.gguf", b, "two tensors at the same bytes")
    b = v[:]; b[i + 4:i + 12] = struct.pack("<Q", 1 << 62); add("gguf_size_overflow.gguf", b, "a shape whose byte size overflows 64 bits")
    b = v[:]; k = find(v, b"b.weight"); b[k:k + 8] = b"a.weight"; add("gguf_duplicate_tensor.gguf", b, "two tensors named a.weight")
    k = find(v, b"general.architecture")
    b = v[:]; b[k + len(b"general.architecture"):k + len(b"general.architecture") + 4] = struct.pack("<I", 13)
    add("gguf_unknown_value_type.gguf", b, "metadata value type 13")
    return out


def main():
    exp_path = f"{D}/expectations.json"
    exp = json.load(open(exp_path))
    exp["files"] = [f for f in exp["files"] if not f["file"].startswith("gguf_")]
    for name, data, reason in cases():
        with open(f"{D}/{name}", "wb") as f:
            f.write(data)
        try:
            r = GGUFReader(f"{D}/{name}")
            result = f"loaded {len(r.tensors)} tensors"
        except Exception as e:  # noqa: BLE001 - the reference library's verdict
            result = f"{type(e).__name__}: {str(e)[:200]}"
        exp["files"].append({"file": name, "expect": "reject", "reason": reason, "category": "gguf",
                             "reference_library_result": result})
    with open(exp_path, "w") as f:
        json.dump(exp, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
