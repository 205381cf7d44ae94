#!/usr/bin/env python3
"""Layout vectors for Q4_K, Q5_K and Q6_K, made with the `gguf` Python package's dequantizers (gguf-py
has no K-quant quantizer): random but valid blocks (finite f16 scales), and the values gguf-py
decodes from them. hasskit's dequantizers must give the same floats bit for bit.

    pip install gguf numpy && python3 Scripts/gen_kquant_vectors.py
"""
import os

import gguf
import numpy as np
from gguf.quants import dequantize

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "quant")


def blocks(rng, count, size, half_offsets):
    raw = rng.integers(0, 256, size=(count, size), dtype=np.uint8)
    for off in half_offsets:
        h = (rng.standard_normal(count) * 0.01).astype(np.float16).view(np.uint8).reshape(count, 2)
        raw[:, off:off + 2] = h
    return raw


def main():
    rng = np.random.default_rng(256)
    q4k = blocks(rng, 16, 144, [0, 2])
    q6k = blocks(rng, 16, 210, [208])
    q5k = blocks(rng, 16, 176, [0, 2])
    for name, raw, qt in (("q4_k", q4k, gguf.GGMLQuantizationType.Q4_K), ("q6_k", q6k, gguf.GGMLQuantizationType.Q6_K),
                          ("q5_k", q5k, gguf.GGMLQuantizationType.Q5_K)):
        raw.tofile(os.path.join(OUT, f"{name}_blocks.bin"))
        dequantize(raw.reshape(-1), qt).astype("<f4").tofile(os.path.join(OUT, f"{name}_blocks_dequant_f32.bin"))


if __name__ == "__main__":
    main()
