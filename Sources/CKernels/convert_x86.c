// x86 fast paths for element conversions, compiled per function with target attributes so the
// package needs no global -march flag; dispatch picks them at run time.
#include <stdlib.h>
#include <string.h>
#include "CKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2,f16c")))
static void f16_to_f32_f16c(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    if (i < n) ck_f16_to_f32_generic(src + i, dst + i, n - i);
}

__attribute__((target("avx2,f16c")))
static void f32_to_f16_f16c(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 f = _mm256_loadu_ps(src + i);
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    if (i < n) ck_f32_to_f16_generic(src + i, dst + i, n - i);
}

__attribute__((target("avx2")))
static void bf16_to_f32_avx2(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
        _mm256_storeu_si256((__m256i *)(dst + i), w);
    }
    if (i < n) ck_bf16_to_f32_generic(src + i, dst + i, n - i);
}

__attribute__((target("avx2")))
static void f32_to_bf16_avx2(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    const __m256i bias = _mm256_set1_epi32(0x7FFF);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i absmask = _mm256_set1_epi32(0x7FFFFFFF);
    const __m256i inf = _mm256_set1_epi32(0x7F800000);
    const __m256i qnan = _mm256_set1_epi32(0x7FC0);
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
        __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, bias), lsb), 16);
        __m256i isnan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
        r = _mm256_blendv_epi8(r, qnan, isnan);
        // Pack 8 x u32 (values < 65536) into 8 x u16.
        __m128i lo = _mm256_castsi256_si128(r), hi = _mm256_extracti128_si256(r, 1);
        _mm_storeu_si128((__m128i *)(dst + i), _mm_packus_epi32(lo, hi));
    }
    if (i < n) ck_f32_to_bf16_generic(src + i, dst + i, n - i);
}
#endif

typedef void (*u16_to_f32_fn)(const uint16_t *, float *, size_t);
typedef void (*f32_to_u16_fn)(const float *, uint16_t *, size_t);

static unsigned detect_cpu_features(void) {
    unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) f |= CK_CPU_AVX2;
    if (__builtin_cpu_supports("f16c")) f |= CK_CPU_F16C;
    if (__builtin_cpu_supports("fma")) f |= CK_CPU_FMA;
    if (__builtin_cpu_supports("avx512f")) f |= CK_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) f |= CK_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vl")) f |= CK_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512vnni")) f |= CK_CPU_AVX512VNNI;
    if (__builtin_cpu_supports("avxvnni")) f |= CK_CPU_AVXVNNI;
#endif
    return f;
}

unsigned ck_cpu_features_detected(void) {
    // Detection is idempotent, so a race between two first callers stores the same value.
    static unsigned cached = ~0u;
    unsigned f = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (f == ~0u) { f = detect_cpu_features(); __atomic_store_n(&cached, f, __ATOMIC_RELAXED); }
    return f;
}

unsigned ck_cpu_features(void) {
    // HASSKIT_KERNELS=reference: every dispatch sees a CPU without extensions, so the whole
    // process (the binary or a test run) uses the portable paths; CI runs the tests so once.
    // HASSKIT_KERNELS=avx2: it sees no AVX-512 and no AVX-VNNI, so benchmarks can set the paths
    // side by side.
    static unsigned mask = 0;  // 0: not read yet
    unsigned m = __atomic_load_n(&mask, __ATOMIC_RELAXED);
    if (m == 0) {
        const char *k = getenv("HASSKIT_KERNELS");
        const unsigned beyond_avx2 = CK_CPU_AVX512F | CK_CPU_AVX512BW | CK_CPU_AVX512VL | CK_CPU_AVX512VNNI | CK_CPU_AVXVNNI;
        m = k == NULL ? ~0u : strcmp(k, "reference") == 0 ? 1u << 31 : strcmp(k, "avx2") == 0 ? ~beyond_avx2 : ~0u;
        __atomic_store_n(&mask, m, __ATOMIC_RELAXED);
    }
    return ck_cpu_features_detected() & m;
}

static int has_avx2_f16c(void) {
    unsigned f = ck_cpu_features();
    return (f & CK_CPU_AVX2) && (f & CK_CPU_F16C);
}

void ck_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if (has_avx2_f16c()) { f16_to_f32_f16c(src, dst, n); return; }
#endif
    ck_f16_to_f32_generic(src, dst, n);
}

void ck_f32_to_f16(const float *src, uint16_t *dst, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if (has_avx2_f16c()) { f32_to_f16_f16c(src, dst, n); return; }
#endif
    ck_f32_to_f16_generic(src, dst, n);
}

void ck_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if (ck_cpu_features() & CK_CPU_AVX2) { bf16_to_f32_avx2(src, dst, n); return; }
#endif
    ck_bf16_to_f32_generic(src, dst, n);
}

void ck_f32_to_bf16(const float *src, uint16_t *dst, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if (ck_cpu_features() & CK_CPU_AVX2) { f32_to_bf16_avx2(src, dst, n); return; }
#endif
    ck_f32_to_bf16_generic(src, dst, n);
}
