// Products of stored (possibly quantized) rows with activations: the engine's matrix work.
//   - f32 activations: ck_matvec_rows (one input) and ck_matmul_rows_fused (a small batch of Q8_0).
//     The reference decodes each row into a scratch buffer and dots it with x (every type); Q8_0 and
//     Q4_0 also have fused AVX2/FMA kernels that read the blocks once.
//   - 8-bit activations (llama.cpp's scheme, the default): ck_quantize_q8act, then
//     ck_matmul_rows_q8act for Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K rows (the row-interleaved types are in
//     interleaved.c), each next to a readable reference that it equals bit for bit.
// This file holds the row sizes and the dispatch; the kernels are in matvec_avx2.c and their
// readable references in matvec_reference.c. Dispatch follows ck_cpu_features() (no extensions
// under HASSKIT_KERNELS=reference), so which path runs is decided here and nowhere else.
#include "kernels_internal.h"
#include <string.h>

size_t ck_block_bytes(int type) {
    switch (type) {
    case CK_TYPE_F32: return 4;
    case CK_TYPE_F16:
    case CK_TYPE_BF16: return 2;
    case CK_TYPE_Q8_0:
    case CK_TYPE_Q8_0_R8: return sizeof(ck_block_q8_0);
    case CK_TYPE_Q4_0:
    case CK_TYPE_Q4_0_R8: return sizeof(ck_block_q4_0);
    case CK_TYPE_Q5_0:
    case CK_TYPE_Q5_0_R8: return sizeof(ck_block_q5_0);
    case CK_TYPE_Q5_1: return sizeof(ck_block_q5_1);
    case CK_TYPE_Q5_K: return sizeof(ck_block_q5_k);
    case CK_TYPE_Q4_K:
    case CK_TYPE_Q4_K_R8: return sizeof(ck_block_q4_k);
    case CK_TYPE_Q6_K:
    case CK_TYPE_Q6_K_R8: return sizeof(ck_block_q6_k);
    default: return 0;
    }
}

size_t ck_row_bytes(int type, size_t cols) {
    switch (ck_base_type(type)) {
    case CK_TYPE_F32:
    case CK_TYPE_F16:
    case CK_TYPE_BF16: return cols * ck_block_bytes(type);
    case CK_TYPE_Q8_0:
    case CK_TYPE_Q4_0:
    case CK_TYPE_Q5_0:
    case CK_TYPE_Q5_1: return cols / 32 * ck_block_bytes(type);
    case CK_TYPE_Q4_K:
    case CK_TYPE_Q5_K:
    case CK_TYPE_Q6_K: return cols / 256 * ck_block_bytes(type);
    default: return 0;
    }
}

void ck_dequantize_row(int type, const void *src, float *dst, size_t cols) {
    switch (type) {
    case CK_TYPE_F32: memcpy(dst, src, cols * 4); break;
    case CK_TYPE_F16: ck_f16_to_f32((const uint16_t *)src, dst, cols); break;
    case CK_TYPE_BF16: ck_bf16_to_f32((const uint16_t *)src, dst, cols); break;
    case CK_TYPE_Q8_0: ck_dequantize_q8_0(src, dst, cols); break;
    case CK_TYPE_Q4_0: ck_dequantize_q4_0(src, dst, cols); break;
    case CK_TYPE_Q5_0: ck_dequantize_q5_0(src, dst, cols); break;
    case CK_TYPE_Q5_1: ck_dequantize_q5_1(src, dst, cols); break;
    case CK_TYPE_Q5_K: ck_dequantize_q5_k(src, dst, cols); break;
    case CK_TYPE_Q4_K: ck_dequantize_q4_k(src, dst, cols); break;
    case CK_TYPE_Q6_K: ck_dequantize_q6_k(src, dst, cols); break;
    default: memset(dst, 0, cols * 4); break;
    }
}

/// AVX2 with FMA and F16C: what every fast product here needs.
static int fast_products(void) {
#if defined(__x86_64__) || defined(__i386__)
    const unsigned need = CK_CPU_AVX2 | CK_CPU_FMA | CK_CPU_F16C;
    return (ck_cpu_features() & need) == need;
#else
    return 0;
#endif
}

void ck_matvec_rows(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                    const float *x, float *y, float *scratch) {
#if defined(__x86_64__) || defined(__i386__)
    if ((type == CK_TYPE_Q8_0 || type == CK_TYPE_Q4_0) && fast_products()) {
        ck_avx2_matvec_rows(type, w, cols, row_begin, row_end, x, y);
        return;
    }
#endif
    ck_matvec_rows_reference(type, w, cols, row_begin, row_end, x, y, scratch);
}

int ck_matmul_rows_fused(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                         const float *x, size_t n, float *y, size_t ldy) {
#if defined(__x86_64__) || defined(__i386__)
    if (type == CK_TYPE_Q8_0 && fast_products()) {
        ck_avx2_matmul_q8_0(w, cols, row_begin, row_end, x, n, y, ldy);
        return 1;
    }
#endif
    (void)w; (void)cols; (void)row_begin; (void)row_end; (void)x; (void)n; (void)y; (void)ldy; (void)type;
    return 0;
}

size_t ck_q8act_bytes(size_t cols) { return cols / 32 * sizeof(q8act_block); }

void ck_quantize_q8act(const float *x, size_t cols, void *dst) {
#if defined(__x86_64__) || defined(__i386__)
    if (ck_cpu_features() & CK_CPU_AVX2) {
        ck_avx2_quantize_q8act(x, cols, dst);
        return;
    }
#endif
    ck_quantize_q8act_reference(x, cols, dst);
}

int ck_q8act_supports(int type, size_t cols) {
    switch (ck_base_type(type)) {
    case CK_TYPE_Q8_0:
    case CK_TYPE_Q4_0:
    case CK_TYPE_Q5_0:
    case CK_TYPE_Q5_1: return cols % 32 == 0;
    case CK_TYPE_Q4_K:
    case CK_TYPE_Q5_K:
    case CK_TYPE_Q6_K: return cols % 256 == 0;
    default: return 0;
    }
}

/// Whether this process may run `path` for `type`: the CPU has its instructions (none under
/// HASSKIT_KERNELS=reference) and the type has a kernel on it.
static int path_available(int path, int type) {
    switch (path) {
    case CK_PATH_REFERENCE: return 1;
#if defined(__x86_64__) || defined(__i386__)
    case CK_PATH_AVX2: return fast_products();
    case CK_PATH_AVX512_VNNI: {
        const unsigned need = CK_CPU_AVX512F | CK_CPU_AVX512BW | CK_CPU_AVX512VL | CK_CPU_AVX512VNNI;
        return fast_products() && (ck_cpu_features() & need) == need && (ck_interleaved_rows(type) > 1 || type == CK_TYPE_Q6_K);
    }
    case CK_PATH_AVX_VNNI: return fast_products() && (ck_cpu_features() & CK_CPU_AVXVNNI) && ck_interleaved_rows(type) > 1;
    case CK_PATH_AVX_VNNI_EVEX: {
        const unsigned need = CK_CPU_AVX512F | CK_CPU_AVX512VL | CK_CPU_AVX512VNNI;
        return fast_products() && (ck_cpu_features() & need) == need && ck_interleaved_rows(type) > 1;
    }
#endif
    default: return 0;
    }
}

int ck_q8act_path(int type) {
    if (path_available(CK_PATH_AVX512_VNNI, type)) return CK_PATH_AVX512_VNNI;
    if (path_available(CK_PATH_AVX_VNNI, type)) return CK_PATH_AVX_VNNI;
    if (path_available(CK_PATH_AVX2, type)) return CK_PATH_AVX2;
    return CK_PATH_REFERENCE;
}

int ck_q8act_path_for(int type, size_t cols, size_t n, size_t threads) {
    const int path = ck_q8act_path(type);
    const int k_quant = type == CK_TYPE_Q4_K_R8 || type == CK_TYPE_Q6_K_R8;
    const int streams_well = threads == 1 || cols <= CK_SINGLE_STREAM_MAX_COLS;
    if (n == 1 && streams_well && k_quant && path == CK_PATH_AVX512_VNNI && path_available(CK_PATH_AVX_VNNI_EVEX, type))
        return CK_PATH_AVX_VNNI_EVEX;
    return path;
}

/// The product on `path`, which the caller has checked this process may run for `type`.
static void run_path(int path, int type, const void *w, size_t cols, size_t row_begin, size_t row_end, const void *xq, size_t n,
                     float *y, size_t ldy) {
    if (ck_interleaved_rows(type) > 1) {
        ck_matmul_rows_r8(type, w, cols, row_begin, row_end, xq, n, y, ldy, path);
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    if (path == CK_PATH_AVX512_VNNI) {
        ck_avx512_matmul_q6_k(w, cols, row_begin, row_end, xq, n, y, ldy);
        return;
    }
    if (path == CK_PATH_AVX2) {
        ck_avx2_matmul_rows_q8act(type, w, cols, row_begin, row_end, xq, n, y, ldy);
        return;
    }
#endif
    ck_matmul_rows_q8act_reference(type, w, cols, row_begin, row_end, xq, n, y, ldy);
}

int ck_matmul_rows_q8act_path(int path, int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                              const void *xq, size_t n, float *y, size_t ldy) {
    if (!ck_q8act_supports(type, cols) || !path_available(path, type)) return 0;
    run_path(path, type, w, cols, row_begin, row_end, xq, n, y, ldy);
    return 1;
}

int ck_matmul_rows_q8act(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                         const void *xq, size_t n, float *y, size_t ldy) {
    // The dispatched path is available by construction: only the shape is checked here.
    if (!ck_q8act_supports(type, cols)) return 0;
    run_path(ck_q8act_path(type), type, w, cols, row_begin, row_end, xq, n, y, ldy);
    return 1;
}
