// Matrix-vector products over stored (possibly quantized) rows: the decode step of the engine.
// The reference path decodes each row into a scratch buffer and dots it with x (correct for every
// type). Q8_0 and Q4_0 rows also have fused AVX2/FMA kernels that never writes the decoded row: it reads
// the blocks once and accumulate in registers. Tests compare the two paths.
#include "CKernels.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

static int reference_only = 0;

void ck_matvec_use_reference(int on) { __atomic_store_n(&reference_only, on, __ATOMIC_RELAXED); }

size_t ck_row_bytes(int type, size_t cols) {
    switch (type) {
    case CK_TYPE_F32: return cols * 4;
    case CK_TYPE_F16:
    case CK_TYPE_BF16: return cols * 2;
    case CK_TYPE_Q8_0: return cols / 32 * 34;
    case CK_TYPE_Q4_0: return cols / 32 * 18;
    case CK_TYPE_Q4_K: return cols / 256 * 144;
    case CK_TYPE_Q6_K: return cols / 256 * 210;
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
    case CK_TYPE_Q4_K: ck_dequantize_q4_k(src, dst, cols); break;
    case CK_TYPE_Q6_K: ck_dequantize_q6_k(src, dst, cols); break;
    default: memset(dst, 0, cols * 4); break;
    }
}

static float dot(const float *a, const float *b, size_t n) {
    // Eight independent accumulators: vectorisable without -ffast-math.
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    }
    float s = 0;
    for (; i < n; i++) s += a[i] * b[i];
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

#if defined(__x86_64__) || defined(__i386__)
/// The sum of the eight lanes, in a fixed order (every kernel uses this one, so they agree bit for bit).
__attribute__((target("avx2")))
static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}
#endif
#if defined(__x86_64__) || defined(__i386__)
/// dot(Q8_0 row, x): per block, the 32 int8 values widened to float and multiplied into x with
/// FMA, then scaled by the block's f16 scale.
__attribute__((target("avx2,fma,f16c")))
static float dot_q8_0_avx2(const unsigned char *row, const float *x, size_t cols) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < cols / 32; b++) {
        const unsigned char *block = row + b * 34;
        uint16_t half;
        memcpy(&half, block, 2);
        const float d = _cvtsh_ss(half);
        const float *xb = x + b * 32;
        __m256 s = _mm256_setzero_ps();
        for (int j = 0; j < 32; j += 8) {
            __m128i q = _mm_loadl_epi64((const __m128i *)(block + 2 + j));
            __m256 qf = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
            s = _mm256_fmadd_ps(qf, _mm256_loadu_ps(xb + j), s);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), s, acc);
    }
    return hsum256(acc);
}

/// dot(Q4_0 row, x): value = (nibble − 8)·d; the low nibbles of the 16 bytes are elements 0–15,
/// the high nibbles 16–31 (ggml's layout).
__attribute__((target("avx2,fma,f16c")))
static float dot_q4_0_avx2(const unsigned char *row, const float *x, size_t cols) {
    const __m128i mask = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < cols / 32; b++) {
        const unsigned char *block = row + b * 18;
        uint16_t half;
        memcpy(&half, block, 2);
        const float d = _cvtsh_ss(half);
        const float *xb = x + b * 32;
        __m128i raw = _mm_loadu_si128((const __m128i *)(block + 2));
        __m128i lo = _mm_sub_epi8(_mm_and_si128(raw, mask), eight);
        __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), eight);
        __m256 s = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), _mm256_loadu_ps(xb));
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), _mm256_loadu_ps(xb + 8), s);
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), _mm256_loadu_ps(xb + 16), s);
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), _mm256_loadu_ps(xb + 24), s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), s, acc);
    }
    return hsum256(acc);
}

__attribute__((target("avx2,fma,f16c")))
static void matvec_q4_0_avx2(const unsigned char *w, size_t stride, size_t cols, size_t row_begin, size_t row_end,
                             const float *x, float *y) {
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q4_0_avx2(w + r * stride, x, cols);
}

/// Y[i][r] = dot(row r, X[i]) for a small batch: each block of the row is widened once and used
/// for four inputs at a time, with the same operations in the same order as dot_q8_0_avx2, so
/// every result is bit-identical to the single-input kernel.
__attribute__((target("avx2,fma,f16c")))
static void matmul_q8_0_avx2(const unsigned char *w, size_t stride, size_t cols, size_t row_begin, size_t row_end,
                             const float *x, size_t n, float *y, size_t ldy) {
    for (size_t r = row_begin; r < row_end; r++) {
        const unsigned char *row = w + r * stride;
        for (size_t i0 = 0; i0 < n; i0 += 4) {
            const size_t m = n - i0 < 4 ? n - i0 : 4;
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (size_t b = 0; b < cols / 32; b++) {
                const unsigned char *block = row + b * 34;
                uint16_t half;
                memcpy(&half, block, 2);
                const __m256 d = _mm256_set1_ps(_cvtsh_ss(half));
                __m256 q[4];
                for (int j = 0; j < 4; j++) {
                    q[j] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(block + 2 + 8 * j))));
                }
                for (size_t k = 0; k < m; k++) {
                    const float *xb = x + (i0 + k) * cols + b * 32;
                    __m256 s = _mm256_setzero_ps();
                    for (int j = 0; j < 4; j++) s = _mm256_fmadd_ps(q[j], _mm256_loadu_ps(xb + 8 * j), s);
                    acc[k] = _mm256_fmadd_ps(d, s, acc[k]);
                }
            }
            for (size_t k = 0; k < m; k++) y[(i0 + k) * ldy + r] = hsum256(acc[k]);
        }
    }
}

__attribute__((target("avx2,fma,f16c")))
static void matvec_q8_0_avx2(const unsigned char *w, size_t stride, size_t cols, size_t row_begin, size_t row_end,
                             const float *x, float *y) {
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q8_0_avx2(w + r * stride, x, cols);
}
#endif

void ck_matvec_rows(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                    const float *x, float *y, float *scratch) {
#if defined(__x86_64__) || defined(__i386__)
    const unsigned need = CK_CPU_AVX2 | CK_CPU_FMA | CK_CPU_F16C;
    if ((type == CK_TYPE_Q8_0 || type == CK_TYPE_Q4_0) && !__atomic_load_n(&reference_only, __ATOMIC_RELAXED) &&
        (ck_cpu_features() & need) == need) {
        if (type == CK_TYPE_Q8_0) {
            matvec_q8_0_avx2((const unsigned char *)w, ck_row_bytes(type, cols), cols, row_begin, row_end, x, y);
        } else {
            matvec_q4_0_avx2((const unsigned char *)w, ck_row_bytes(type, cols), cols, row_begin, row_end, x, y);
        }
        return;
    }
#endif
    ck_matvec_rows_reference(type, w, cols, row_begin, row_end, x, y, scratch);
}

void ck_matvec_rows_reference(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                              const float *x, float *y, float *scratch) {
    const size_t stride = ck_row_bytes(type, cols);
    const unsigned char *base = (const unsigned char *)w;
    for (size_t r = row_begin; r < row_end; r++) {
        const void *row = base + r * stride;
        if (type == CK_TYPE_F32) {
            y[r] = dot((const float *)row, x, cols);
        } else {
            ck_dequantize_row(type, row, scratch, cols);
            y[r] = dot(scratch, x, cols);
        }
    }
}

int ck_matmul_rows_fused(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                         const float *x, size_t n, float *y, size_t ldy) {
#if defined(__x86_64__) || defined(__i386__)
    const unsigned need = CK_CPU_AVX2 | CK_CPU_FMA | CK_CPU_F16C;
    if (type == CK_TYPE_Q8_0 && !__atomic_load_n(&reference_only, __ATOMIC_RELAXED) && (ck_cpu_features() & need) == need) {
        matmul_q8_0_avx2((const unsigned char *)w, ck_row_bytes(type, cols), cols, row_begin, row_end, x, n, y, ldy);
        return 1;
    }
#endif
    (void)w; (void)cols; (void)row_begin; (void)row_end; (void)x; (void)n; (void)y; (void)ldy; (void)type;
    return 0;
}
