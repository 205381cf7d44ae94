// Q8_0, Q4_0 and Q5_0 block quantization (layouts: docs/FORMAT.md; ggml-common.h block_q8_0,
// block_q4_0, block_q5_0).
// The generic versions are written for clarity; the AVX2 versions vectorise the same arithmetic,
// operation for operation, so both give identical bytes (tests compare them and the Swift reference).
#include "kernels_internal.h"
#include <math.h>
#include <string.h>

#define QK 32

static inline void put_f16(unsigned char *p, float v) {
    uint16_t h = ck_float_to_half_scalar(v);
    memcpy(p, &h, 2);
}

static inline float get_f16(const unsigned char *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return ck_half_to_float_scalar(h);
}

/// roundf() without the libm call: round half away from zero, exact for all floats.
static inline float round_away(float x) {
    float a = fabsf(x);
    float t = truncf(a);
    float r = t + ((a - t) >= 0.5f ? 1.0f : 0.0f);
    return copysignf(r, x);
}

static inline void q8_0_block(const float *x, unsigned char *out) {
    float amax = 0.0f;
    for (int j = 0; j < QK; j++) {
        float a = fabsf(x[j]);
        amax = a > amax ? a : amax;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(out, d);
    for (int j = 0; j < QK; j++) out[2 + j] = (unsigned char)(int8_t)round_away(x[j] * id);
}

void ck_quantize_q8_0_generic(const float *src, void *dst, size_t n) {
    unsigned char *out = (unsigned char *)dst;
    for (size_t b = 0; b < n / QK; b++) q8_0_block(src + b * QK, out + b * sizeof(ck_block_q8_0));
}

void ck_dequantize_q8_0(const void *src, float *dst, size_t n) {
    const unsigned char *in = (const unsigned char *)src;
    for (size_t b = 0; b < n / QK; b++) {
        const unsigned char *blk = in + b * sizeof(ck_block_q8_0);
        const float d = get_f16(blk);
        for (int j = 0; j < QK; j++) dst[b * QK + j] = (float)(int8_t)blk[2 + j] * d;
    }
}

static inline void q4_0_block(const float *x, unsigned char *out) {
    // The signed value of largest magnitude (first one on ties) sets the scale: d = max / -8.
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK; j++) {
        float a = fabsf(x[j]);
        if (a > amax) { amax = a; max = x[j]; }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(out, d);
    for (int j = 0; j < QK / 2; j++) {
        float x0 = x[j] * id + 8.5f;
        float x1 = x[j + QK / 2] * id + 8.5f;
        unsigned q0 = (unsigned)(int)truncf(x0), q1 = (unsigned)(int)truncf(x1);
        q0 = q0 > 15 ? 15 : q0;
        q1 = q1 > 15 ? 15 : q1;
        out[2 + j] = (unsigned char)(q0 | (q1 << 4));
    }
}

void ck_quantize_q4_0_generic(const float *src, void *dst, size_t n) {
    unsigned char *out = (unsigned char *)dst;
    for (size_t b = 0; b < n / QK; b++) q4_0_block(src + b * QK, out + b * sizeof(ck_block_q4_0));
}

void ck_dequantize_q4_0(const void *src, float *dst, size_t n) {
    const unsigned char *in = (const unsigned char *)src;
    for (size_t b = 0; b < n / QK; b++) {
        const unsigned char *blk = in + b * sizeof(ck_block_q4_0);
        const float d = get_f16(blk);
        for (int j = 0; j < QK / 2; j++) {
            dst[b * QK + j] = (float)((int)(blk[2 + j] & 0x0F) - 8) * d;
            dst[b * QK + j + QK / 2] = (float)((int)(blk[2 + j] >> 4) - 8) * d;
        }
    }
}

/// Q5_0 as ggml's quantize_row_q5_0_ref: Q4_0's rule with 32 levels (d = max / −16, truncating
/// x/d + 16.5, capped at 31); the fifth bits go to qh, bit j for value j. Scalar only: Q5_0 is the
/// fallback for the few matrices whose rows do not fit a K-quant block, so it is never the bulk of
/// a conversion.
static inline void q5_0_block(const float *x, unsigned char *out) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK; j++) {
        float a = fabsf(x[j]);
        if (a > amax) { amax = a; max = x[j]; }
    }
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(out, d);
    int q[QK];
    for (int j = 0; j < QK; j++) {
        const int v = (int)(x[j] * id + 16.5f);  // truncation, as the reference's (int8_t) cast
        q[j] = v > 31 ? 31 : v;
    }
    q5_pack(out + 2, q);
}

void ck_quantize_q5_0(const float *src, void *dst, size_t n) {
    unsigned char *out = (unsigned char *)dst;
    for (size_t b = 0; b < n / QK; b++) q5_0_block(src + b * QK, out + b * sizeof(ck_block_q5_0));
}

void ck_dequantize_q5_0(const void *src, float *dst, size_t n) {
    const unsigned char *in = (const unsigned char *)src;
    for (size_t b = 0; b < n / QK; b++) {
        const unsigned char *blk = in + b * sizeof(ck_block_q5_0);
        const float d = get_f16(blk);
        for (int j = 0; j < QK; j++) dst[b * QK + j] = (float)(q5_value(blk + 2, j) - 16) * d;
    }
}

/// Q5_1 as ggml's quantize_row_q5_1_ref: 32 levels from the block's minimum to its maximum.
static inline void q5_1_block(const float *x, unsigned char *out) {
    float min = x[0], max = x[0];
    for (int j = 1; j < QK; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(out, d);
    put_f16(out + 2, min);
    int q[QK];
    for (int j = 0; j < QK; j++) q[j] = (int)((x[j] - min) * id + 0.5f);
    q5_pack(out + 4, q);
}

void ck_quantize_q5_1(const float *src, void *dst, size_t n) {
    unsigned char *out = (unsigned char *)dst;
    for (size_t b = 0; b < n / QK; b++) q5_1_block(src + b * QK, out + b * sizeof(ck_block_q5_1));
}

void ck_dequantize_q5_1(const void *src, float *dst, size_t n) {
    const unsigned char *in = (const unsigned char *)src;
    for (size_t b = 0; b < n / QK; b++) {
        const unsigned char *blk = in + b * sizeof(ck_block_q5_1);
        const float d = get_f16(blk), m = get_f16(blk + 2);
        for (int j = 0; j < QK; j++) dst[b * QK + j] = (float)q5_value(blk + 4, j) * d + m;
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2,f16c")))
static void quantize_q8_0_avx2(const float *src, void *dst, size_t n) {
    unsigned char *out = (unsigned char *)dst;
    const __m256 signbit = _mm256_set1_ps(-0.0f);
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256 one = _mm256_set1_ps(1.0f);
    for (size_t b = 0; b < n / QK; b++) {
        const float *x = src + b * QK;
        unsigned char *blk = out + b * sizeof(ck_block_q8_0);
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            m = _mm256_max_ps(m, _mm256_andnot_ps(signbit, v[k]));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        put_f16(blk, d);
        const __m256 vid = _mm256_set1_ps(id);
        for (int k = 0; k < 4; k++) {
            __m256 y = _mm256_mul_ps(v[k], vid);
            __m256 a = _mm256_andnot_ps(signbit, y);
            __m256 t = _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256 up = _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(a, t), half, _CMP_GE_OQ), one);
            __m256 r = _mm256_or_ps(_mm256_add_ps(t, up), _mm256_and_ps(y, signbit));
            __m256i q = _mm256_cvttps_epi32(r);
            // 8 x i32 -> 8 x i8
            __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
            __m128i p16 = _mm_packs_epi32(lo, hi);
            __m128i p8 = _mm_packs_epi16(p16, p16);
            _mm_storel_epi64((__m128i *)(blk + 2 + 8 * k), p8);
        }
    }
}

__attribute__((target("avx2,f16c")))
static void quantize_q4_0_avx2(const float *src, void *dst, size_t n) {
    unsigned char *out = (unsigned char *)dst;
    const __m256 signbit = _mm256_set1_ps(-0.0f);
    const __m256 bias = _mm256_set1_ps(8.5f);
    const __m256i fifteen = _mm256_set1_epi32(15);
    for (size_t b = 0; b < n / QK; b++) {
        const float *x = src + b * QK;
        unsigned char *blk = out + b * sizeof(ck_block_q4_0);
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) m = _mm256_max_ps(m, _mm256_andnot_ps(signbit, _mm256_loadu_ps(x + 8 * k)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        // The first element whose magnitude is the maximum gives the signed scale, as in ggml.
        float max = 0.0f;
        for (int j = 0; j < QK; j++) {
            if (fabsf(x[j]) == amax) { max = x[j]; break; }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        put_f16(blk, d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 y = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), vid), bias);
            __m256i t = _mm256_cvttps_epi32(y);  // y >= 0 here, so truncation is the reference's
            q[k] = _mm256_min_epi32(t, fifteen);
        }
        // Byte j holds element j (low nibble) and element j + 16 (high nibble).
        for (int k = 0; k < 2; k++) {
            __m256i packed = _mm256_or_si256(q[k], _mm256_slli_epi32(q[k + 2], 4));
            __m128i lo = _mm256_castsi256_si128(packed), hi = _mm256_extracti128_si256(packed, 1);
            __m128i p16 = _mm_packus_epi32(lo, hi);
            __m128i p8 = _mm_packus_epi16(p16, p16);
            _mm_storel_epi64((__m128i *)(blk + 2 + 8 * k), p8);
        }
    }
}
#endif

void ck_quantize_q8_0(const float *src, void *dst, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if ((ck_cpu_features() & (CK_CPU_AVX2 | CK_CPU_F16C)) == (CK_CPU_AVX2 | CK_CPU_F16C)) {
        quantize_q8_0_avx2(src, dst, n);
        return;
    }
#endif
    ck_quantize_q8_0_generic(src, dst, n);
}

void ck_quantize_q4_0(const float *src, void *dst, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if ((ck_cpu_features() & (CK_CPU_AVX2 | CK_CPU_F16C)) == (CK_CPU_AVX2 | CK_CPU_F16C)) {
        quantize_q4_0_avx2(src, dst, n);
        return;
    }
#endif
    ck_quantize_q4_0_generic(src, dst, n);
}
