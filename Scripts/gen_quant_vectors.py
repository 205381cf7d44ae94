#!/usr/bin/env python3
"""Golden vectors for the block quantizers, made by the `gguf` Python package (llama.cpp's
gguf-py, whose Q8_0/Q4_0/Q5_0/Q5_1 quantizers are bit-exact with ggml's reference C code).

    pip install gguf numpy && python3 Scripts/gen_quant_vectors.py

Writes Tests/Fixtures/quant/{input_f32.bin, q8_0.bin, q4_0.bin, q5_0.bin, q5_1.bin and each one's
_dequant_f32.bin} and a README line with the versions.
"""
import os
from importlib import metadata

import gguf
import numpy as np
from gguf.quants import dequantize, quantize

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "quant")


def vectors():
    rng = np.random.default_rng(20261126)
    blocks = [rng.standard_normal(32).astype(np.float32) * s for s in (1e-3, 0.02, 1.0, 30.0, 1e4)]
    blocks.append(np.zeros(32, np.float32))                       # d = 0
    b = np.zeros(32, np.float32); b[5] = -3.0; blocks.append(b)    # one negative spike
    b = np.full(32, 2.0, np.float32); b[0] = -2.0; blocks.append(b)  # |max| tie: first index wins
    b = (np.arange(32, dtype=np.float32) - 16) * 0.5; blocks.append(b)  # halves: rounding ties
    b = np.linspace(-127, 127, 32, dtype=np.float32); blocks.append(b)  # x/d lands on .5 for Q8_0
    b = np.full(32, 1e-30, np.float32); blocks.append(b)            # d underflows to 0 in f16
    b = rng.uniform(-1, 1, 32).astype(np.float32); b[7] = 65504.0 * 127; blocks.append(b)  # large d
    while len(blocks) < 64:
        blocks.append((rng.standard_normal(32) * rng.uniform(0.01, 3)).astype(np.float32))
    return np.concatenate(blocks).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    x = vectors()
    x.astype("<f4").tofile(os.path.join(OUT, "input_f32.bin"))
    for name, qt in (("q8_0", gguf.GGMLQuantizationType.Q8_0), ("q4_0", gguf.GGMLQuantizationType.Q4_0),
                     ("q5_0", gguf.GGMLQuantizationType.Q5_0), ("q5_1", gguf.GGMLQuantizationType.Q5_1)):
        q = quantize(x.reshape(-1, 32 * 8), qt)
        q.tofile(os.path.join(OUT, f"{name}.bin"))
        dequantize(q, qt).astype("<f4").tofile(os.path.join(OUT, f"{name}_dequant_f32.bin"))
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        f.write(f"gguf {metadata.version('gguf')}, numpy {np.__version__}\n")


if __name__ == "__main__":
    main()
