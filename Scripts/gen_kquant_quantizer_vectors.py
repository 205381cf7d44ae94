#!/usr/bin/env python3
"""Golden bytes for the K-quant quantizers (Q4_K, Q5_K, Q6_K), made by ggml's own reference
quantizers (`quantize_row_q4_K_ref`, `quantize_row_q5_K_ref`, `quantize_row_q6_K_ref` in
libggml-base, called through ctypes). gguf-py has no K-quant quantizer, and these functions are
what llama.cpp's `llama-quantize` runs without an importance matrix.

    CMAKE_ARGS="-DGGML_NATIVE=ON" pip install llama-cpp-python numpy   # ships libggml-base.so
    python3 Scripts/gen_kquant_quantizer_vectors.py

Writes Tests/Fixtures/quant/{kquant_input_f32.bin, q4_k_ref.bin, q5_k_ref.bin, q6_k_ref.bin}.
"""
import ctypes
import os
from importlib import metadata

import llama_cpp
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "quant")
BYTES = {"q4_K": 144, "q5_K": 176, "q6_K": 210}


def vectors():
    rng = np.random.default_rng(20261204)
    blocks = [rng.standard_normal(256).astype(np.float32) * s for s in (1e-4, 0.02, 1.0, 40.0)]
    blocks.append(np.zeros(256, np.float32))                               # every scale 0
    b = np.zeros(256, np.float32); b[77] = -2.5; blocks.append(b)          # one spike
    blocks.append(np.full(256, 0.75, np.float32))                          # flat sub-blocks
    blocks.append(-np.abs(rng.standard_normal(256)).astype(np.float32))    # negative only
    blocks.append(np.abs(rng.standard_normal(256)).astype(np.float32))     # positive only
    b = rng.standard_normal(256).astype(np.float32); b[:32] *= 100; blocks.append(b)  # one loud sub-block
    b = (np.arange(256, dtype=np.float32) % 32 - 16) * 0.125; blocks.append(b)  # exact levels
    while len(blocks) < 24:
        scale = rng.uniform(0.005, 2)
        blocks.append((rng.standard_normal(256) * scale + rng.uniform(-1, 1) * scale).astype(np.float32))
    return np.concatenate(blocks).astype(np.float32)


def main():
    lib = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-base.so"))
    os.makedirs(OUT, exist_ok=True)
    x = vectors()
    x.astype("<f4").tofile(os.path.join(OUT, "kquant_input_f32.bin"))
    src = x.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    for name, size in BYTES.items():
        out = (ctypes.c_uint8 * (len(x) // 256 * size))()
        fn = getattr(lib, f"quantize_row_{name}_ref")
        fn.argtypes = [ctypes.POINTER(ctypes.c_float), ctypes.c_void_p, ctypes.c_int64]
        fn(src, out, len(x))
        with open(os.path.join(OUT, f"{name.lower()}_ref.bin"), "wb") as f:
            f.write(bytes(out))
    with open(os.path.join(OUT, "VERSIONS_KQUANT"), "w") as f:
        f.write(f"llama-cpp-python {metadata.version('llama-cpp-python')} (libggml-base), numpy {np.__version__}\n")


if __name__ == "__main__":
    main()
