// Q4_K, Q5_K and Q6_K super-block quantization (256 values per block), byte-compatible with
// ggml's block_q4_K / block_q5_K / block_q6_K. The scale search follows ggml's reference
// quantizers (quantize_row_q4_K_ref / _q5_K_ref / _q6_K_ref: weighted least squares over
// candidate scales), computed in the same float operation order so results match it bit for bit
// when both are compiled without FMA contraction. Q4_K and Q5_K differ only in their levels (16 or
// 32), their search (see kquant_search) and where the levels go.
#include "kernels_internal.h"
#include <math.h>
#include <string.h>

#define QKK 256

/// Round to nearest, ties to even, for |v| <= 2^22 (adding 1.5·2^23 leaves the integer in the
/// low mantissa bits under the default rounding mode).
static inline int round_nearest(float v) {
    float shifted = v + 12582912.0f;
    int bits;
    memcpy(&bits, &shifted, 4);
    return (bits & 0x007FFFFF) - 0x00400000;
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static inline uint16_t half_bits(float v) { return ck_float_to_half_scalar(v); }

/// Asymmetric quantization of n values to 0..nmax with a scale and a (non-positive) offset,
/// searching nsteps+1 candidate scales around nmax/(max-min) and keeping the one with the least
/// weighted squared error. Returns the scale; *neg_min receives -offset.
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min,
                           uint8_t *trial, float rmin, float rdelta, int nsteps) {
    float lo = x[0], hi = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
        float wi = w[i];
        sum_w += wi;
        sum_x += wi * x[i];
    }
    if (lo > 0) lo = 0;
    if (hi == lo) {
        memset(L, 0, (size_t)n);
        *neg_min = -lo;
        return 0.0f;
    }
    float inv = nmax / (hi - lo);
    float scale = 1 / inv;
    float best = 0;
    for (int i = 0; i < n; ++i) {
        int l = round_nearest(inv * (x[i] - lo));
        L[i] = (uint8_t)clampi(l, 0, nmax);
        float diff = scale * L[i] + lo - x[i];
        best += w[i] * (diff * diff);
    }
    for (int step = 0; step <= nsteps; ++step) {
        inv = (rmin + rdelta * step + nmax) / (hi - lo);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            int l = clampi(round_nearest(inv * (x[i] - lo)), 0, nmax);
            trial[i] = (uint8_t)l;
            float wi = w[i];
            sum_l += wi * l;
            sum_l2 += wi * l * l;
            sum_xl += wi * l * x[i];
        }
        float det = sum_w * sum_l2 - sum_l * sum_l;
        if (det > 0) {
            float s = (sum_w * sum_xl - sum_x * sum_l) / det;
            float m = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if (m > 0) {
                m = 0;
                s = sum_xl / sum_l2;
            }
            float err = 0;
            for (int i = 0; i < n; ++i) {
                float diff = s * trial[i] + m - x[i];
                err += w[i] * (diff * diff);
            }
            if (err < best) {
                memcpy(L, trial, (size_t)n);
                best = err;
                scale = s;
                lo = m;
            }
        }
    }
    *neg_min = -lo;
    return scale;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/// round_nearest on eight lanes (the same add and bit extraction).
__attribute__((target("avx2"), always_inline)) static inline __m256i round_nearest8(__m256 v) {
    const __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.0f)));
    return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x00400000));
}

/// The scale search of Q4_K (15 levels above 0, ggml's rmin −1 and 21 candidates) and Q5_K (31,
/// −0.5, 16): make_qkx2_quants' arguments in quantize_row_q4_K_ref / quantize_row_q5_K_ref.
typedef struct {
    int nmax;
    float rmin;
    int nsteps;
} kquant_search;
static const kquant_search q4_k_search = {15, -1.0f, 20}, q5_k_search = {31, -0.5f, 15};

/// The weights and scale search of a Q4_K/Q5_K super-block's eight sub-blocks at once, sub-block
/// j in lane j: fit_scale_min(32, nmax, …, rmin, 0.1, nsteps) with the weights av_x + |x|, every lane doing
/// the scalar code's float operations in its order (multiplies and adds, never fused; min/max
/// with the scalar's operand order, so even the sign of a zero matches). Writes scales[j],
/// mins[j] and L[32j + i] exactly as eight calls of fit_scale_min would.
__attribute__((target("avx2"))) static void kquant_search_avx2(kquant_search k, const float *x, float *scales, float *mins,
                                                              uint8_t *L) {
    float xt[32][8];  // xt[i][j] = x[32j + i]
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 32; i++) xt[i][j] = x[32 * j + i];
    __m256 X[32], W[32];
    for (int i = 0; i < 32; i++) X[i] = _mm256_loadu_ps(xt[i]);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 sum_x2 = _mm256_setzero_ps();
    for (int i = 0; i < 32; i++) sum_x2 = _mm256_add_ps(sum_x2, _mm256_mul_ps(X[i], X[i]));
    const __m256 av_x = _mm256_sqrt_ps(_mm256_div_ps(sum_x2, _mm256_set1_ps(32)));
    for (int i = 0; i < 32; i++) W[i] = _mm256_add_ps(av_x, _mm256_and_ps(X[i], abs_mask));

    __m256 lo = X[0], hi = X[0], sum_w = W[0];
    __m256 sum_x = _mm256_mul_ps(sum_w, X[0]);
    for (int i = 1; i < 32; i++) {
        lo = _mm256_min_ps(X[i], lo);  // x < lo ? x : lo
        hi = _mm256_max_ps(X[i], hi);  // x > hi ? x : hi
        sum_w = _mm256_add_ps(sum_w, W[i]);
        sum_x = _mm256_add_ps(sum_x, _mm256_mul_ps(W[i], X[i]));
    }
    const __m256 zero = _mm256_setzero_ps();
    lo = _mm256_blendv_ps(lo, zero, _mm256_cmp_ps(lo, zero, _CMP_GT_OQ));
    const __m256 flat = _mm256_cmp_ps(hi, lo, _CMP_EQ_OQ);  // these lanes return at once
    const __m256i nmax = _mm256_set1_epi32(k.nmax), izero = _mm256_setzero_si256();
    __m256 inv = _mm256_div_ps(_mm256_set1_ps((float)k.nmax), _mm256_sub_ps(hi, lo));
    __m256 scale = _mm256_div_ps(_mm256_set1_ps(1), inv);
    __m256 best = zero;
    __m256i Lv[32];
    for (int i = 0; i < 32; i++) {
        Lv[i] = _mm256_min_epi32(_mm256_max_epi32(round_nearest8(_mm256_mul_ps(inv, _mm256_sub_ps(X[i], lo))), izero), nmax);
        const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(scale, _mm256_cvtepi32_ps(Lv[i])), lo), X[i]);
        best = _mm256_add_ps(best, _mm256_mul_ps(W[i], _mm256_mul_ps(diff, diff)));
    }
    for (int step = 0; step <= k.nsteps; ++step) {
        const float num = k.rmin + 0.1f * step + k.nmax;
        inv = _mm256_div_ps(_mm256_set1_ps(num), _mm256_sub_ps(hi, lo));
        __m256 sum_l = zero, sum_l2 = zero, sum_xl = zero;
        __m256i trial[32];
        for (int i = 0; i < 32; i++) {
            trial[i] = _mm256_min_epi32(_mm256_max_epi32(round_nearest8(_mm256_mul_ps(inv, _mm256_sub_ps(X[i], lo))), izero), nmax);
            const __m256 l = _mm256_cvtepi32_ps(trial[i]), wl = _mm256_mul_ps(W[i], l);
            sum_l = _mm256_add_ps(sum_l, wl);
            sum_l2 = _mm256_add_ps(sum_l2, _mm256_mul_ps(wl, l));
            sum_xl = _mm256_add_ps(sum_xl, _mm256_mul_ps(wl, X[i]));
        }
        const __m256 det = _mm256_sub_ps(_mm256_mul_ps(sum_w, sum_l2), _mm256_mul_ps(sum_l, sum_l));
        const __m256 solvable = _mm256_cmp_ps(det, zero, _CMP_GT_OQ);
        if (_mm256_movemask_ps(solvable) == 0) continue;
        __m256 sv = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_w, sum_xl), _mm256_mul_ps(sum_x, sum_l)), det);
        __m256 mv = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_l2, sum_x), _mm256_mul_ps(sum_l, sum_xl)), det);
        const __m256 positive = _mm256_cmp_ps(mv, zero, _CMP_GT_OQ);
        mv = _mm256_blendv_ps(mv, zero, positive);
        sv = _mm256_blendv_ps(sv, _mm256_div_ps(sum_xl, sum_l2), positive);
        __m256 err = zero;
        for (int i = 0; i < 32; i++) {
            const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(sv, _mm256_cvtepi32_ps(trial[i])), mv), X[i]);
            err = _mm256_add_ps(err, _mm256_mul_ps(W[i], _mm256_mul_ps(diff, diff)));
        }
        const __m256 better = _mm256_and_ps(solvable, _mm256_cmp_ps(err, best, _CMP_LT_OQ));
        const __m256i take = _mm256_castps_si256(better);
        for (int i = 0; i < 32; i++) Lv[i] = _mm256_blendv_epi8(Lv[i], trial[i], take);
        best = _mm256_blendv_ps(best, err, better);
        scale = _mm256_blendv_ps(scale, sv, better);
        lo = _mm256_blendv_ps(lo, mv, better);
    }
    // Flat sub-blocks: L = 0, scale 0, −lo as the min (the scalar's early return).
    scale = _mm256_blendv_ps(scale, zero, flat);
    const __m256 neg_min = _mm256_xor_ps(lo, _mm256_set1_ps(-0.0f));  // -lo, sign of zero included
    float sc[8], mn[8];
    _mm256_storeu_ps(sc, scale);
    _mm256_storeu_ps(mn, neg_min);
    int32_t lt[32][8];
    const __m256i keep = _mm256_castps_si256(flat);
    for (int i = 0; i < 32; i++) _mm256_storeu_si256((__m256i *)lt[i], _mm256_andnot_si256(keep, Lv[i]));
    for (int j = 0; j < 8; j++) {
        scales[j] = sc[j];
        mins[j] = mn[j];
        for (int i = 0; i < 32; i++) L[32 * j + i] = (uint8_t)lt[i][j];
    }
}
#endif

/// One Q4_K or Q5_K super-block: the per-sub-block search, the scales and minimums to 6 bits
/// packed as ggml's get_scale_min_k4 reads them, then every value's level again against the
/// rounded scales (ggml's second pass). Writes d, dmin and the 12 scale bytes at blk, and the
/// 256 levels (0…nmax) to L.
static void kquant_superblock(kquant_search k, const float *x, unsigned char *blk, uint8_t L[QKK]) {
    uint8_t trial[32];
    float w[32], scales[8], mins[8];
    float max_scale = 0, max_min = 0;
#if defined(__x86_64__) || defined(__i386__)
    if (ck_cpu_features() & CK_CPU_AVX2) {
        kquant_search_avx2(k, x, scales, mins, L);
    } else
#endif
    {
        for (int j = 0; j < 8; ++j) {
            float sum_x2 = 0;
            for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
            float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; ++l) w[l] = av_x + fabsf(x[32 * j + l]);
            scales[j] = fit_scale_min(32, k.nmax, x + 32 * j, w, L + 32 * j, &mins[j], trial, k.rmin, 0.1f, k.nsteps);
        }
    }
    for (int j = 0; j < 8; ++j) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    uint8_t *packed = blk + 4;
    memset(packed, 0, 12);
    for (int j = 0; j < 8; ++j) {
        uint8_t ls = (uint8_t)round_nearest(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)round_nearest(inv_min * mins[j]);
        if (ls > 63) ls = 63;
        if (lm > 63) lm = 63;
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    uint16_t d = half_bits(max_scale / 63.0f), dmin = half_bits(max_min / 63.0f);
    memcpy(blk, &d, 2);
    memcpy(blk + 2, &dmin, 2);
    const float dv = half_value(blk), dminv = half_value(blk + 2);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        unpack_scale_min(j, packed, &sc, &m);
        const float dj = dv * sc;
        if (!dj) continue;
        const float mj = dminv * m;
        for (int l = 0; l < 32; ++l) L[32 * j + l] = (uint8_t)clampi(round_nearest((x[32 * j + l] + mj) / dj), 0, k.nmax);
    }
}

void ck_quantize_q4_k(const float *src, void *dst, size_t n) {
    uint8_t L[QKK];
    for (size_t b = 0; b < n / QKK; b++) {
        unsigned char *blk = (unsigned char *)dst + b * sizeof(ck_block_q4_k);  // d, dmin, scales[12], qs[128]
        kquant_superblock(q4_k_search, src + b * QKK, blk, L);
        uint8_t *qs = blk + 16;
        for (int j = 0; j < QKK; j += 64) {
            for (int l = 0; l < 32; ++l) qs[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
            qs += 32;
        }
    }
}

/// Q5_K: Q4_K's low four bits in qs, and the fifth bits in qh: bit 2c of qh[l] for value l of
/// sub-block 2c, bit 2c + 1 for value l of sub-block 2c + 1 (c = 0…3).
void ck_quantize_q5_k(const float *src, void *dst, size_t n) {
    uint8_t L[QKK];
    for (size_t b = 0; b < n / QKK; b++) {
        unsigned char *blk = (unsigned char *)dst + b * sizeof(ck_block_q5_k);  // d, dmin, scales[12], qh[32], qs[128]
        kquant_superblock(q5_k_search, src + b * QKK, blk, L);
        uint8_t *qh = blk + 16, *qs = blk + 48;
        memset(qh, 0, 32);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; ++l) {
                const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
                qs[32 * c + l] = (uint8_t)((lo & 0xF) | ((hi & 0xF) << 4));
                qh[l] |= (uint8_t)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
            }
        }
    }
}

void ck_dequantize_q5_k(const void *src, float *dst, size_t n) {
    const unsigned char *in = (const unsigned char *)src;
    for (size_t b = 0; b < n / QKK; b++) {
        const unsigned char *blk = in + b * sizeof(ck_block_q5_k);
        const float d = half_value(blk), dmin = half_value(blk + 2);
        const uint8_t *packed = blk + 4, *qh = blk + 16, *qs = blk + 48;
        float *y = dst + b * QKK;
        for (int c = 0; c < 4; c++) {
            uint8_t sc, m;
            unpack_scale_min(2 * c, packed, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            unpack_scale_min(2 * c + 1, packed, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * ((qs[32 * c + l] & 0xF) + ((qh[l] >> (2 * c)) & 1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * ((qs[32 * c + l] >> 4) + ((qh[l] >> (2 * c + 1)) & 1 ? 16 : 0)) - m2;
        }
    }
}

void ck_dequantize_q4_k(const void *src, float *dst, size_t n) {
    const unsigned char *in = (const unsigned char *)src;
    for (size_t b = 0; b < n / QKK; b++) {
        const unsigned char *blk = in + b * sizeof(ck_block_q4_k);
        const float d = half_value(blk), dmin = half_value(blk + 2);
        const uint8_t *packed = blk + 4, *qs = blk + 16;
        float *y = dst + b * QKK;
        for (int j = 0; j < 8; j += 2) {
            uint8_t sc, m;
            unpack_scale_min(j, packed, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            unpack_scale_min(j + 1, packed, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (qs[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (qs[l] >> 4) - m2;
            qs += 32;
        }
    }
}

/// Symmetric quantization of n values to -nmax..nmax-1 with one scale: start from the value of
/// largest magnitude, then try 18 nearby scales and keep the best by weighted least squares
/// (weights x²). Returns the scale; L receives the levels shifted by +nmax.
static float fit_scale_symmetric(int n, int nmax, const float *x, int8_t *L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; ++i) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < 1e-15f) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float inv = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = clampi(round_nearest(inv * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int step = -9; step <= 9; ++step) {
        if (step == 0) continue;
        inv = -(nmax + 0.1f * step) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = clampi(round_nearest(inv * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) L[i] = (int8_t)(nmax + clampi(round_nearest(inv * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

#if defined(__x86_64__) || defined(__i386__)
/// fit_scale_symmetric(16, 32, …) for eight of a Q6_K super-block's sixteen sub-blocks at once
/// (sub-block `first + j` in lane j), each lane doing the scalar code's operations in its order.
__attribute__((target("avx2"))) static void q6_k_search_avx2(const float *x, int first, float *scales, int8_t *L) {
    float xt[16][8];  // xt[i][j] = x[16(first + j) + i]
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 16; i++) xt[i][j] = x[16 * (first + j) + i];
    __m256 X[16];
    for (int i = 0; i < 16; i++) X[i] = _mm256_loadu_ps(xt[i]);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)), zero = _mm256_setzero_ps();
    __m256 amax = zero, max = zero;
    for (int i = 0; i < 16; i++) {
        const __m256 ax = _mm256_and_ps(X[i], abs_mask), larger = _mm256_cmp_ps(ax, amax, _CMP_GT_OQ);
        amax = _mm256_blendv_ps(amax, ax, larger);
        max = _mm256_blendv_ps(max, X[i], larger);
    }
    const __m256 flat = _mm256_cmp_ps(amax, _mm256_set1_ps(1e-15f), _CMP_LT_OQ);
    const __m256i lo = _mm256_set1_epi32(-32), hi = _mm256_set1_epi32(31);
    __m256 W[16];
    for (int i = 0; i < 16; i++) W[i] = _mm256_mul_ps(X[i], X[i]);
    __m256 inv = _mm256_div_ps(_mm256_set1_ps(-32.0f), max);
    __m256 sumlx = zero, suml2 = zero;
    __m256i Lv[16];
    for (int i = 0; i < 16; i++) {
        Lv[i] = _mm256_min_epi32(_mm256_max_epi32(round_nearest8(_mm256_mul_ps(inv, X[i])), lo), hi);
        const __m256 l = _mm256_cvtepi32_ps(Lv[i]);
        sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(_mm256_mul_ps(W[i], X[i]), l));
        suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(W[i], l), l));
    }
    const __m256 nonzero = _mm256_cmp_ps(suml2, zero, _CMP_NEQ_UQ);
    __m256 scale = _mm256_and_ps(_mm256_div_ps(sumlx, suml2), nonzero);
    __m256 best = _mm256_mul_ps(scale, sumlx);
    for (int step = -9; step <= 9; ++step) {
        if (step == 0) continue;
        inv = _mm256_div_ps(_mm256_set1_ps(-(32 + 0.1f * step)), max);
        __m256 sx = zero, s2 = zero;
        __m256i trial[16];
        for (int i = 0; i < 16; i++) {
            trial[i] = _mm256_min_epi32(_mm256_max_epi32(round_nearest8(_mm256_mul_ps(inv, X[i])), lo), hi);
            const __m256 l = _mm256_cvtepi32_ps(trial[i]);
            sx = _mm256_add_ps(sx, _mm256_mul_ps(_mm256_mul_ps(W[i], X[i]), l));
            s2 = _mm256_add_ps(s2, _mm256_mul_ps(_mm256_mul_ps(W[i], l), l));
        }
        const __m256 better = _mm256_and_ps(_mm256_cmp_ps(s2, zero, _CMP_GT_OQ),
                                            _mm256_cmp_ps(_mm256_mul_ps(sx, sx), _mm256_mul_ps(best, s2), _CMP_GT_OQ));
        if (_mm256_movemask_ps(better) == 0) continue;
        const __m256i take = _mm256_castps_si256(better);
        for (int i = 0; i < 16; i++) Lv[i] = _mm256_blendv_epi8(Lv[i], trial[i], take);
        const __m256 sv = _mm256_div_ps(sx, s2);
        scale = _mm256_blendv_ps(scale, sv, better);
        best = _mm256_blendv_ps(best, _mm256_mul_ps(sv, sx), better);
    }
    scale = _mm256_blendv_ps(scale, zero, flat);
    const __m256i keep = _mm256_castps_si256(flat);
    float sc[8];
    _mm256_storeu_ps(sc, scale);
    int32_t lt[16][8];
    for (int i = 0; i < 16; i++) {
        // L = l + 32, or 0 for a flat sub-block (the scalar's early return).
        _mm256_storeu_si256((__m256i *)lt[i], _mm256_andnot_si256(keep, _mm256_add_epi32(Lv[i], _mm256_set1_epi32(32))));
    }
    for (int j = 0; j < 8; j++) {
        scales[first + j] = sc[j];
        for (int i = 0; i < 16; i++) L[16 * (first + j) + i] = (int8_t)lt[i][j];
    }
}
#endif

void ck_quantize_q6_k(const float *src, void *dst, size_t n) {
    unsigned char *out = (unsigned char *)dst;
    int8_t L[QKK];
    float scales[16];
    for (size_t b = 0; b < n / QKK; b++) {
        const float *x = src + b * QKK;
        unsigned char *blk = out + b * sizeof(ck_block_q6_k);  // ql[128], qh[64], scales[16], d
        float max_scale = 0, max_abs_scale = 0;
#if defined(__x86_64__) || defined(__i386__)
        if (ck_cpu_features() & CK_CPU_AVX2) {
            q6_k_search_avx2(x, 0, scales, L);
            q6_k_search_avx2(x, 8, scales, L);
        } else
#endif
        {
            for (int j = 0; j < 16; ++j) scales[j] = fit_scale_symmetric(16, 32, x + 16 * j, L + 16 * j);
        }
        for (int j = 0; j < 16; ++j) {
            float a = fabsf(scales[j]);
            if (a > max_abs_scale) {
                max_abs_scale = a;
                max_scale = scales[j];
            }
        }
        if (max_abs_scale < 1e-15f) {
            memset(blk, 0, sizeof(ck_block_q6_k));
            continue;
        }
        int8_t *sc = (int8_t *)(blk + 192);
        float inv = -128.0f / max_scale;
        uint16_t d = half_bits(1 / inv);
        memcpy(blk + 208, &d, 2);
        for (int j = 0; j < 16; ++j) {
            int v = round_nearest(inv * scales[j]);
            sc[j] = (int8_t)(v < 127 ? v : 127);
        }
        const float dv = half_value(blk + 208);
        for (int j = 0; j < 16; ++j) {
            const float dj = dv * sc[j];
            if (!dj) continue;
            for (int l = 0; l < 16; ++l) L[16 * j + l] = (int8_t)(clampi(round_nearest(x[16 * j + l] / dj), -32, 31) + 32);
        }
        uint8_t *ql = blk, *qh = blk + 128;
        for (int j = 0; j < QKK; j += 128) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF;
                const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                ql[l] = (uint8_t)(q1 | (q3 << 4));
                ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
            }
            ql += 64;
            qh += 32;
        }
    }
}

void ck_dequantize_q6_k(const void *src, float *dst, size_t n) {
    const unsigned char *in = (const unsigned char *)src;
    for (size_t b = 0; b < n / QKK; b++) {
        const unsigned char *blk = in + b * sizeof(ck_block_q6_k);
        const float d = half_value(blk + 208);
        const uint8_t *ql = blk, *qh = blk + 128;
        const int8_t *sc = (const int8_t *)(blk + 192);
        float *y = dst + b * QKK;
        for (int k = 0; k < QKK; k += 128) {
            for (int l = 0; l < 32; ++l) {
                int is = l / 16;
                const int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}
