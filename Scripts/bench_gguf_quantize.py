#!/usr/bin/env python3
"""Baseline for the convert benchmark: quantize every tensor of a sharded BF16 safetensors
checkpoint to Q8_0 with the gguf Python package (llama.cpp's reference quantizer in numpy) and
write the blocks to one file, fsynced. Prints seconds and peak RSS.

    python3 Scripts/bench_gguf_quantize.py CHECKPOINT_DIR OUT_FILE
"""
import json
import os
import resource
import struct
import sys
import time

import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import quantize


def tensors(folder):
    index = json.load(open(os.path.join(folder, "model.safetensors.index.json")))
    for shard in sorted(set(index["weight_map"].values())):
        path = os.path.join(folder, shard)
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            raw = data[begin:end].view(np.uint16).astype(np.uint32) << 16
            yield name, raw.view(np.float32).reshape(info["shape"])


def main():
    folder, out = sys.argv[1], sys.argv[2]
    start = time.perf_counter()
    with open(out, "wb") as f:
        for _, t in tensors(folder):
            f.write(quantize(t, GGMLQuantizationType.Q8_0).tobytes())
        f.flush()
        os.fsync(f.fileno())
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": round(seconds, 3), "peak_rss_bytes": peak}))


if __name__ == "__main__":
    main()
