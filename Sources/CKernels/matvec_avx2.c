// The AVX2/FMA/F16C kernels of the row products (compiled per function with target attributes, no
// global -march): f32-activation Q8_0/Q4_0 products, the 8-bit activation quantizer, and the
// 8-bit-activation products of Q8_0, Q4_0, Q4_K and Q6_K rows. Each equals its readable reference
// in matvec_reference.c (bit for bit where the products are integer sums); matvec.c dispatches.
#include "kernels_internal.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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
        const unsigned char *block = row + b * sizeof(ck_block_q8_0);
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
        const unsigned char *block = row + b * sizeof(ck_block_q4_0);
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
                const unsigned char *block = row + b * sizeof(ck_block_q8_0);
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

__attribute__((target("avx2,fma,f16c")))
void ck_avx2_matvec_rows(int type, const void *w, size_t cols, size_t row_begin, size_t row_end, const float *x, float *y) {
    if (type == CK_TYPE_Q8_0) {
        matvec_q8_0_avx2((const unsigned char *)w, ck_row_bytes(type, cols), cols, row_begin, row_end, x, y);
    } else {
        matvec_q4_0_avx2((const unsigned char *)w, ck_row_bytes(type, cols), cols, row_begin, row_end, x, y);
    }
}

__attribute__((target("avx2,fma,f16c")))
void ck_avx2_matmul_q8_0(const void *w, size_t cols, size_t row_begin, size_t row_end, const float *x, size_t n, float *y,
                         size_t ldy) {
    matmul_q8_0_avx2((const unsigned char *)w, ck_row_bytes(CK_TYPE_Q8_0, cols), cols, row_begin, row_end, x, n, y, ldy);
}
/// The same with AVX2, bit for bit: roundf (half away from zero) as truncation plus one step
/// away from zero where the exact remainder is at least one half; NaN lanes masked to 0.
__attribute__((target("avx2")))
static void quantize_q8act_avx2(const float *x, size_t cols, q8act_block *out) {
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    for (size_t b = 0; b < cols / 32; b++) {
        const float *xb = x + b * 32;
        __m256 v[4], m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(xb + 8 * k);
            m = _mm256_max_ps(_mm256_andnot_ps(sign, v[k]), m);  // a NaN lane keeps m, as fmaxf does
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        out[b].d = d;
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            const __m256 y = _mm256_mul_ps(v[k], _mm256_set1_ps(id));
            const __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256 away = _mm256_and_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(y, t)), half, _CMP_GE_OQ),
                                              _mm256_or_ps(one, _mm256_and_ps(sign, y)));
            __m256 r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(t, away), lo), hi);
            r = _mm256_and_ps(r, _mm256_cmp_ps(y, y, _CMP_ORD_Q));
            q[k] = _mm256_cvtps_epi32(r);
        }
        // int32 → int8 (no saturation: |q| ≤ 127), undoing the packs' 128-bit lane interleaving.
        const __m256i p8 = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *)out[b].q, _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
        q8act_sums(&out[b]);
    }
}

void ck_avx2_quantize_q8act(const float *x, size_t cols, void *dst) { quantize_q8act_avx2(x, cols, (q8act_block *)dst); }
/// A weight block ready for the integer products: Q8_0 as |w| with its signs (applied to x),
/// Q4_0 as its unsigned nibbles (low nibbles are elements 0–15), Q5_0 as its unsigned 5-bit values
/// (the same nibbles with bit i of qh as value i's fifth bit), plus the block's scale.
typedef struct {
    __m256i values;
    float d;
} wblock;

__attribute__((target("avx2,f16c"), always_inline))
static inline wblock load_wblock(int type, const unsigned char *row, size_t b) {
    wblock out;
    uint16_t half;
    if (type == CK_TYPE_Q8_0) {
        const unsigned char *block = row + b * sizeof(ck_block_q8_0);
        memcpy(&half, block, 2);
        out.values = _mm256_loadu_si256((const __m256i *)(block + 2));
    } else if (type == CK_TYPE_Q5_0) {
        const unsigned char *block = row + b * sizeof(ck_block_q5_0);
        memcpy(&half, block, 2);
        uint32_t qh;
        memcpy(&qh, block + 2, 4);
        const __m128i raw = _mm_loadu_si128((const __m128i *)(block + 6)), mask = _mm_set1_epi8(0x0F);
        const __m256i low = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
        // Byte i takes byte i/8 of qh, keeps bit i%8 of it, and becomes 16 where that bit is set.
        const __m256i spread = _mm256_shuffle_epi8(
            _mm256_set1_epi32((int)qh), _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
        const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
        const __m256i high = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
        out.values = _mm256_or_si256(low, high);
    } else {
        const unsigned char *block = row + b * sizeof(ck_block_q4_0);
        memcpy(&half, block, 2);
        const __m128i raw = _mm_loadu_si128((const __m128i *)(block + 2)), mask = _mm_set1_epi8(0x0F);
        out.values = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
    }
    out.d = _cvtsh_ss(half);
    return out;
}

/// acc += (dw·dx) × the 8 lane sums of w·x for one block; the same operations for every caller.
__attribute__((target("avx2,fma"), always_inline))
static inline __m256 block_fma(int type, wblock w, const q8act_block *x, __m256 acc) {
    const __m256i xq = _mm256_loadu_si256((const __m256i *)x->q), ones = _mm256_set1_epi16(1);
    __m256i p;
    if (type == CK_TYPE_Q8_0) {
        p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w.values, w.values), _mm256_sign_epi8(xq, w.values)), ones);
    } else if (type == CK_TYPE_Q5_0) {  // (q − 16)·x = q·x − 2 × (8 × the lane sum)
        p = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(w.values, xq), ones),
                             _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)x->lane_sums8), 1));
    } else {
        p = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(w.values, xq), ones),
                             _mm256_loadu_si256((const __m256i *)x->lane_sums8));
    }
    return _mm256_fmadd_ps(_mm256_set1_ps(w.d * x->d), _mm256_cvtepi32_ps(p), acc);
}

/// Several inputs: rows one at a time, each weight block loaded once for up to four inputs.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void matmul_q8act_avx2(int type, const unsigned char *w, size_t stride, size_t blocks, size_t row_begin, size_t row_end,
                              const q8act_block *x, size_t n, float *y, size_t ldy) {
    for (size_t r = row_begin; r < row_end; r++) {
        const unsigned char *row = w + r * stride;
        if (n == 1) {  // decoding: one accumulator that stays in a register
            __m256 acc = _mm256_setzero_ps();
            for (size_t b = 0; b < blocks; b++) acc = block_fma(type, load_wblock(type, row, b), x + b, acc);
            y[r] = hsum256(acc);
            continue;
        }
        for (size_t i0 = 0; i0 < n; i0 += 4) {
            const size_t m = n - i0 < 4 ? n - i0 : 4;
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (size_t b = 0; b < blocks; b++) {
                const wblock wb = load_wblock(type, row, b);
                for (size_t k = 0; k < m; k++) acc[k] = block_fma(type, wb, x + (i0 + k) * blocks + b, acc[k]);
            }
            for (size_t k = 0; k < m; k++) y[(i0 + k) * ldy + r] = hsum256(acc[k]);
        }
    }
}

/// One input, four rows at a time from the four quarters of the range: each activation block is
/// loaded once for four rows and four accumulators keep the core busy. The rows are far apart on
/// purpose: interleaving four *adjacent* rows (1–4 KiB apart) ran 30 % slower than one row at a
/// time here, while quarters run 25 % faster (Q4_0, 0.67 B model: 29.0 vs 23.1 tok/s on one
/// thread), presumably because the prefetcher follows distant streams and not interleaved
/// neighbours. Per row, the same operations in the same order as a single row, so the same bits.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void matvec_q8act_rows4(int type, const unsigned char *w, size_t stride, size_t blocks, size_t rb, size_t re,
                                      const q8act_block *x, float *y) {
    const size_t quarter = (re - rb) / 4;
    for (size_t r = rb; r < rb + quarter; r++) {
        const unsigned char *r0 = w + r * stride, *r1 = r0 + quarter * stride, *r2 = r1 + quarter * stride, *r3 = r2 + quarter * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t b = 0; b < blocks; b++) {
            a0 = block_fma(type, load_wblock(type, r0, b), x + b, a0);
            a1 = block_fma(type, load_wblock(type, r1, b), x + b, a1);
            a2 = block_fma(type, load_wblock(type, r2, b), x + b, a2);
            a3 = block_fma(type, load_wblock(type, r3, b), x + b, a3);
        }
        y[r] = hsum256(a0);
        y[r + quarter] = hsum256(a1);
        y[r + 2 * quarter] = hsum256(a2);
        y[r + 3 * quarter] = hsum256(a3);
    }
    for (size_t r = rb + 4 * quarter; r < re; r++) {
        __m256 acc = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++) acc = block_fma(type, load_wblock(type, w + r * stride, b), x + b, acc);
        y[r] = hsum256(acc);
    }
}

__attribute__((target("avx2,fma,f16c")))
static void matvec_q8act_rows4_q8_0(const unsigned char *w, size_t stride, size_t blocks, size_t rb, size_t re, const q8act_block *x, float *y) {
    matvec_q8act_rows4(CK_TYPE_Q8_0, w, stride, blocks, rb, re, x, y);
}

__attribute__((target("avx2,fma,f16c")))
static void matvec_q8act_rows4_q4_0(const unsigned char *w, size_t stride, size_t blocks, size_t rb, size_t re, const q8act_block *x, float *y) {
    matvec_q8act_rows4(CK_TYPE_Q4_0, w, stride, blocks, rb, re, x, y);
}

__attribute__((target("avx2,fma,f16c")))
static void matvec_q8act_rows4_q5_0(const unsigned char *w, size_t stride, size_t blocks, size_t rb, size_t re, const q8act_block *x, float *y) {
    matvec_q8act_rows4(CK_TYPE_Q5_0, w, stride, blocks, rb, re, x, y);
}

/// Q4_K and Q5_K: each 32 bytes of nibbles hold two sub-blocks (low and high nibbles), Q5_K's
/// fifth bits come from qh (bit j of each byte for sub-block j); madd with the sub-block's scale
/// instead of ones gives scⱼ·(lane sum) exactly. One super-block of one row.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void kq_superblock(int type, const unsigned char *blk, const q8act_block *x, __m256 *acc, float *corr) {
    const __m256i mask = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    uint16_t hd, hm;
    memcpy(&hd, blk, 2);
    memcpy(&hm, blk + 2, 2);
    const float d = _cvtsh_ss(hd), dmin = _cvtsh_ss(hm);
    const int five = type == CK_TYPE_Q5_K;
    const uint8_t *packed = blk + 4, *qs = blk + (five ? 48 : 16);
    const __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        const __m256i nib[2] = {_mm256_and_si256(v, mask), _mm256_and_si256(_mm256_srli_epi16(v, 4), mask)};
        for (int h = 0; h < 2; h++) {
            const int j = 2 * c + h;
            uint8_t sc, m;
            unpack_scale_min(j, packed, &sc, &m);
            const q8act_block *xb = x + j;
            __m256i q = nib[h];
            if (five) {
                const __m256i bit = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(j)), one);
                q = _mm256_or_si256(q, _mm256_slli_epi16(bit, 4));
            }
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)xb->q)),
                                                _mm256_set1_epi16((short)sc));
            *acc = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), _mm256_cvtepi32_ps(p), *acc);
            *corr = fmaf(dmin * xb->d, (float)(m * xb->sum), *corr);
        }
    }
}

/// Q4_K or Q5_K rows; for one input, four rows at a time from the four quarters of the range (see
/// matvec_q8act_rows4), each row's operations in the same order as alone.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void matmul_kq_q8act_avx2(int type, const unsigned char *w, size_t stride, size_t cols, size_t rb, size_t re,
                                        const q8act_block *x, size_t n, float *y, size_t ldy) {
    const size_t block = type == CK_TYPE_Q5_K ? sizeof(ck_block_q5_k) : sizeof(ck_block_q4_k);
    const size_t superblocks = cols / 256;
    size_t first = rb;
    if (n == 1) {
        const size_t quarter = (re - rb) / 4;
        for (size_t r = rb; r < rb + quarter; r++) {
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            float corr[4] = {0, 0, 0, 0};
            for (size_t sb = 0; sb < superblocks; sb++) {
                for (int k = 0; k < 4; k++) kq_superblock(type, w + (r + k * quarter) * stride + sb * block, x + sb * 8, &acc[k], &corr[k]);
            }
            for (int k = 0; k < 4; k++) y[r + k * quarter] = hsum256(acc[k]) - corr[k];
        }
        first = rb + 4 * quarter;
    }
    for (size_t r = first; r < re; r++) {
        for (size_t i = 0; i < n; i++) {
            __m256 acc = _mm256_setzero_ps();
            float corr = 0;
            for (size_t sb = 0; sb < superblocks; sb++) kq_superblock(type, w + r * stride + sb * block, x + i * (cols / 32) + sb * 8, &acc, &corr);
            y[i * ldy + r] = hsum256(acc) - corr;
        }
    }
}

__attribute__((target("avx2,fma,f16c")))
static void matmul_q4k_q8act_avx2(const unsigned char *w, size_t stride, size_t cols, size_t rb, size_t re, const q8act_block *x,
                                  size_t n, float *y, size_t ldy) {
    matmul_kq_q8act_avx2(CK_TYPE_Q4_K, w, stride, cols, rb, re, x, n, y, ldy);
}

__attribute__((target("avx2,fma,f16c")))
static void matmul_q5k_q8act_avx2(const unsigned char *w, size_t stride, size_t cols, size_t rb, size_t re, const q8act_block *x,
                                  size_t n, float *y, size_t ldy) {
    matmul_kq_q8act_avx2(CK_TYPE_Q5_K, w, stride, cols, rb, re, x, n, y, ldy);
}

/// Q5_1: the 5-bit values as Q5_0's (unsigned), the lanes taking (d·dx) × q·x and a separate sum
/// (m·dx) × Σx, added at the end, as the reference orders them.
__attribute__((target("avx2,fma,f16c")))
static float dot_q5_1_q8act_avx2(const unsigned char *row, const q8act_block *x, size_t blocks) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    for (size_t b = 0; b < blocks; b++) {
        const unsigned char *block = row + b * sizeof(ck_block_q5_1);
        uint16_t hm;
        memcpy(&hm, block + 2, 2);
        // Q5_1's qh and qs sit 2 bytes further than Q5_0's: load them as a Q5_0 block there.
        wblock wb = load_wblock(CK_TYPE_Q5_0, block + 2, 0);
        uint16_t hd;
        memcpy(&hd, block, 2);
        wb.d = _cvtsh_ss(hd);
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(wb.values, _mm256_loadu_si256((const __m256i *)x[b].q)), ones);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(wb.d * x[b].d), _mm256_cvtepi32_ps(p), acc);
        corr = fmaf(_cvtsh_ss(hm) * x[b].d, (float)x[b].sum, corr);
    }
    return hsum256(acc) + corr;
}

/// Q6_K with AVX2: the 6-bit values rebuilt from their low nibbles and high 2-bit pairs, the two
/// 16-value scale groups applied by madd, the −32 offset as 32·sc·(lane sum) from the activation
/// block's lane sums.
__attribute__((target("avx2,fma,f16c")))
static float dot_q6k_q8act_avx2(const unsigned char *row, const q8act_block *x, size_t superblocks) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (size_t sb = 0; sb < superblocks; sb++) {
        const unsigned char *blk = row + sb * sizeof(ck_block_q6_k);
        uint16_t hd;
        memcpy(&hd, blk + 208, 2);
        const float d = _cvtsh_ss(hd);
        for (int k = 0; k < 2; k++) {
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(blk + 64 * k));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(blk + 64 * k + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * k));
            const int8_t *sc = (const int8_t *)(blk + 192) + 8 * k;
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4)),
            };
            for (int g = 0; g < 4; g++) {
                const q8act_block *xb = x + sb * 8 + k * 4 + g;
                const __m256i s16 = _mm256_set_m128i(_mm_set1_epi16(sc[2 * g + 1]), _mm_set1_epi16(sc[2 * g]));
                const __m256i s32 = _mm256_set_m128i(_mm_set1_epi32(sc[2 * g + 1]), _mm_set1_epi32(sc[2 * g]));
                const __m256i prod = _mm256_madd_epi16(_mm256_maddubs_epi16(q[g], _mm256_loadu_si256((const __m256i *)xb->q)), s16);
                const __m256i offset = _mm256_slli_epi32(_mm256_mullo_epi32(s32, _mm256_loadu_si256((const __m256i *)xb->lane_sums8)), 2);
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), _mm256_cvtepi32_ps(_mm256_sub_epi32(prod, offset)), acc);
            }
        }
    }
    return hsum256(acc);
}

// The kernel with the type fixed at compile time, so its per-block branches disappear.
__attribute__((target("avx2,fma,f16c")))
static void matmul_q8act_q8_0(const unsigned char *w, size_t stride, size_t blocks, size_t rb, size_t re, const q8act_block *x,
                              size_t n, float *y, size_t ldy) {
    matmul_q8act_avx2(CK_TYPE_Q8_0, w, stride, blocks, rb, re, x, n, y, ldy);
}

__attribute__((target("avx2,fma,f16c")))
static void matmul_q8act_q4_0(const unsigned char *w, size_t stride, size_t blocks, size_t rb, size_t re, const q8act_block *x,
                              size_t n, float *y, size_t ldy) {
    matmul_q8act_avx2(CK_TYPE_Q4_0, w, stride, blocks, rb, re, x, n, y, ldy);
}

__attribute__((target("avx2,fma,f16c")))
static void matmul_q8act_q5_0(const unsigned char *w, size_t stride, size_t blocks, size_t rb, size_t re, const q8act_block *x,
                              size_t n, float *y, size_t ldy) {
    matmul_q8act_avx2(CK_TYPE_Q5_0, w, stride, blocks, rb, re, x, n, y, ldy);
}

void ck_avx2_matmul_rows_q8act(int type, const void *w, size_t cols, size_t row_begin, size_t row_end, const void *xq, size_t n,
                               float *y, size_t ldy) {
    const size_t stride = ck_row_bytes(type, cols), blocks = cols / 32;
    const unsigned char *wb = (const unsigned char *)w;
    const q8act_block *x = (const q8act_block *)xq;
    if (type == CK_TYPE_Q4_K) {
        matmul_q4k_q8act_avx2(wb, stride, cols, row_begin, row_end, x, n, y, ldy);
    } else if (type == CK_TYPE_Q5_K) {
        matmul_q5k_q8act_avx2(wb, stride, cols, row_begin, row_end, x, n, y, ldy);
    } else if (type == CK_TYPE_Q5_1) {
        for (size_t r = row_begin; r < row_end; r++) {
            for (size_t i = 0; i < n; i++) y[i * ldy + r] = dot_q5_1_q8act_avx2(wb + r * stride, x + i * blocks, blocks);
        }
    } else if (type == CK_TYPE_Q6_K) {
        for (size_t r = row_begin; r < row_end; r++) {
            for (size_t i = 0; i < n; i++) y[i * ldy + r] = dot_q6k_q8act_avx2(wb + r * stride, x + i * blocks, cols / 256);
        }
    } else if (n == 1) {
        (type == CK_TYPE_Q8_0   ? matvec_q8act_rows4_q8_0
         : type == CK_TYPE_Q5_0 ? matvec_q8act_rows4_q5_0
                                : matvec_q8act_rows4_q4_0)(wb, stride, blocks, row_begin, row_end, x, y);
    } else {
        (type == CK_TYPE_Q8_0   ? matmul_q8act_q8_0
         : type == CK_TYPE_Q5_0 ? matmul_q8act_q5_0
                                : matmul_q8act_q4_0)(wb, stride, blocks, row_begin, row_end, x, n, y, ldy);
    }
}
#endif
