// The compute roof of the 8-bit products on this CPU: how many 512-bit vpdpbusd (64 int8
// multiply-adds each) one core retires per second, with twelve independent accumulators so that
// neither latency nor memory limits it. The README's verification curve divides a batch's
// multiply-adds by this to give the least a batched pass can cost.
//   clang -O2 Scripts/vnni-peak.c -o /tmp/vnni-peak && /tmp/vnni-peak
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double run(long iterations) {
    __m512i acc[12];
    __m512i w = _mm512_set1_epi8(3), x = _mm512_set1_epi8(5);
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_epi32(i);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < iterations; k++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 12; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], w, x);
        __asm__ volatile("" : "+v"(w));  // keeps the loop from being folded
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int sum = 0;
    for (int i = 0; i < 12; i++) sum += _mm512_reduce_add_epi32(acc[i]);
    if (sum == 42) printf(" ");
    return (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
}

int main(void) {
    if (!__builtin_cpu_supports("avx512vnni")) {
        printf("this CPU has no AVX-512 VNNI\n");
        return 1;
    }
    const long n = 200000000;
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        const double s = run(n);
        if (s < best) best = s;
    }
    printf("one core: %.2f G vpdpbusd/s, %.1f G int8 multiply-adds/s\n", n * 12 / best / 1e9, n * 12 * 64 / best / 1e9);
    return 0;
}
