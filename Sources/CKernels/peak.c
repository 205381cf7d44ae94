// The arithmetic roof of the 8-bit products: how many int8 multiply-adds one thread retires per
// second through each path's product instruction (ck_q8act_peak_rate in CKernels.h).
#include "kernels_internal.h"
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

static volatile int peak_sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// Each runs `rounds` rounds of twelve independent products and returns a value built from the
// accumulators, so that the compiler keeps them; the empty asm stops it folding the loop.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static int run_avx512_vnni(long rounds) {
    __m512i acc[12], w = _mm512_set1_epi8(3);
    const __m512i x = _mm512_set1_epi8(5);
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_epi32(i);
    for (long k = 0; k < rounds; k++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 12; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], w, x);
        __asm__ volatile("" : "+v"(w));
    }
    int s = 0;
    for (int i = 0; i < 12; i++) s += _mm512_reduce_add_epi32(acc[i]);
    return s;
}

__attribute__((target("avx2,avxvnni"))) static int run_avx_vnni(long rounds) {
    __m256i acc[12], w = _mm256_set1_epi8(3);
    const __m256i x = _mm256_set1_epi8(5);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_epi32(i);
    for (long k = 0; k < rounds; k++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 12; i++) acc[i] = _mm256_dpbusd_avx_epi32(acc[i], w, x);
        __asm__ volatile("" : "+x"(w));
    }
    int s = 0;
    for (int i = 0; i < 12; i++) s += _mm256_extract_epi32(acc[i], 0);
    return s;
}

__attribute__((target("avx2"))) static int run_avx2(long rounds) {
    __m256i acc[12], w = _mm256_set1_epi8(3);
    const __m256i x = _mm256_set1_epi8(5), ones = _mm256_set1_epi16(1);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_epi32(i);
    for (long k = 0; k < rounds; k++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 12; i++) acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), ones));
        __asm__ volatile("" : "+x"(w));
    }
    int s = 0;
    for (int i = 0; i < 12; i++) s += _mm256_extract_epi32(acc[i], 0);
    return s;
}

double ck_q8act_peak_rate(int type, double seconds) {
    int (*run)(long);
    double per_round;  // multiply-adds per round
    if (!ck_q8act_supports(type, 256)) return 0;  // no 8-bit products (256 columns suit every type)
    // The path the products of `type` take: the CPU has its instructions by construction.
    switch (ck_q8act_path(type)) {
    case CK_PATH_AVX512_VNNI: run = run_avx512_vnni, per_round = 12 * 64; break;
    case CK_PATH_AVX_VNNI: run = run_avx_vnni, per_round = 12 * 32; break;
    case CK_PATH_AVX2: run = run_avx2, per_round = 12 * 32; break;
    default: return 0;
    }
    // Rounds double until one timing covers `seconds`; the rate of the last.
    for (long rounds = 1 << 16;; rounds *= 2) {
        const double t0 = now();
        peak_sink = run(rounds);
        const double t = now() - t0;
        if (t >= seconds || rounds > (1L << 40)) return t > 0 ? rounds * per_round / t : 0;
    }
}
#else
double ck_q8act_peak_rate(int type, double seconds) {
    (void)type, (void)seconds;
    return 0;
}
#endif
