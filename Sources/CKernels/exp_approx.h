// The exp of the kernels (ck_expf in CKernels.h): softmax in attention.c, SiLU in elementwise.c.
// exp(x) = 2ⁿ · exp(r), n = round(x / ln 2), r = x − n·ln 2 (in two parts), exp(r) by a degree-6
// polynomial (Cephes' expf coefficients): within 2 ulp of expf for −87.3 ≤ x ≤ 88, 0 below −87.3
// (where expf is subnormal) and for NaN, exp(88) above 88. Written as plain multiplies and adds
// (no fused multiply-add, whatever the caller's target) so the AVX2 lanes compute exactly what
// exp_c computes.
#ifndef HASSKIT_EXP_APPROX_H
#define HASSKIT_EXP_APPROX_H
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define EXP_LOW -87.33654f
#define EXP_HIGH 88.0f
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO -2.12194440e-4f
#define EXP_MAGIC 12582912.0f  // 1.5 · 2²³: adding it rounds to an integer held in the low bits
#define EXP_P0 1.9875691500e-4f
#define EXP_P1 1.3981999507e-3f
#define EXP_P2 8.3334519073e-3f
#define EXP_P3 4.1665795894e-2f
#define EXP_P4 1.6666665459e-1f
#define EXP_P5 5.0000001201e-1f

static inline float exp_c(float x) {
#pragma clang fp contract(off)
    if (!(x >= EXP_LOW)) return 0.0f;  // also NaN → 0 (a masked score)
    if (x > EXP_HIGH) x = EXP_HIGH;
    const float shifted = x * EXP_LOG2E + EXP_MAGIC;
    const float n = shifted - EXP_MAGIC;
    int32_t bits;
    memcpy(&bits, &shifted, 4);
    const int32_t e = bits - 0x4B400000;  // n as an integer
    float r = x - n * EXP_LN2_HI;
    r = r - n * EXP_LN2_LO;
    const float r2 = r * r;
    float p = EXP_P0;
    p = p * r + EXP_P1;
    p = p * r + EXP_P2;
    p = p * r + EXP_P3;
    p = p * r + EXP_P4;
    p = p * r + EXP_P5;
    p = p * r2 + r;
    p = p + 1.0f;
    const int32_t scale_bits = (e + 127) << 23;
    float scale;
    memcpy(&scale, &scale_bits, 4);
    return p * scale;
}

#if defined(__x86_64__) || defined(__i386__)
/// exp_c on eight lanes.
__attribute__((target("avx2"), always_inline)) static inline __m256 exp_avx2(__m256 x) {
    const __m256 low = _mm256_set1_ps(EXP_LOW), magic = _mm256_set1_ps(EXP_MAGIC);
    const __m256 keep = _mm256_cmp_ps(x, low, _CMP_GE_OQ);  // false for NaN, as in exp_c
    x = _mm256_min_ps(x, _mm256_set1_ps(EXP_HIGH));
    const __m256 shifted = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(EXP_LOG2E)), magic);
    const __m256 n = _mm256_sub_ps(shifted, magic);
    const __m256i e = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(EXP_LN2_HI)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(EXP_LN2_LO)));
    const __m256 r2 = _mm256_mul_ps(r, r);
    __m256 p = _mm256_set1_ps(EXP_P0);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_P1));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_P2));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_P3));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_P4));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(EXP_P5));
    p = _mm256_add_ps(_mm256_mul_ps(p, r2), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
    return _mm256_and_ps(_mm256_mul_ps(p, scale), keep);
}
#endif
#endif
