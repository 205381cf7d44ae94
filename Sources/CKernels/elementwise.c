// The element-wise steps of a decoder layer, which run on one thread between the products while
// the other workers wait (in a two-thread decode of the 1.1 B shape, SwiGLU through the C
// library's expf and an in-order RMSNorm were 3–4 % of the main thread's time):
// - ck_swiglu: silu(g) ⊙ u, with the kernels' exp (exp_approx.h); its AVX2 path does the same
//   float operations in the same order as the readable one, so both give the same bits.
// - ck_rms_norm_rows: RMSNorm with the sum of squares in eight lanes (ck_dot8's order), which the
//   compiler vectorises on any x86-64; one version, so one set of bits.
#include "kernels_internal.h"
#include "exp_approx.h"
#include <math.h>

void ck_swiglu_reference(const float *g, const float *u, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = g[i] / (1.0f + exp_c(-g[i])) * u[i];
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void swiglu_avx2(const float *g, const float *u, float *out, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 e = exp_avx2(_mm256_xor_ps(x, sign));  // −x exactly, as the reference negates
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
    ck_swiglu_reference(g + i, u + i, out + i, n - i);
}
#endif

void ck_swiglu(const float *g, const float *u, float *out, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if (ck_cpu_features() & CK_CPU_AVX2) {
        swiglu_avx2(g, u, out, n);
        return;
    }
#endif
    ck_swiglu_reference(g, u, out, n);
}

void ck_rms_norm_rows(const float *x, const float *w, float *out, size_t n, size_t width, float eps) {
    for (size_t r = 0; r < n; r++) {
        const float *row = x + r * width;
        float *o = out + r * width;
        const float scale = 1.0f / sqrtf(ck_dot8(row, row, width) / (float)width + eps);
        for (size_t j = 0; j < width; j++) o[j] = w[j] * (row[j] * scale);
    }
}
