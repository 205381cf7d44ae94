// The VNNI form of the 256-bit interleaved kernels (interleaved_256.h) for AVX512-VL + VNNI: the
// EVEX encoding of what interleaved_avx_vnni.c runs on AVX-VNNI CPUs. Never dispatched (an
// AVX-512 CPU takes the 512-bit kernels); it lets the tests check the VNNI form bit for bit on
// the AVX-512 machines this project is developed on, which lack AVX-VNNI.
#include "kernels_internal.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define K256_INLINE __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni"), always_inline))
#define K256_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#define K256_VNNI 1
#define K256_DPBUSD(acc, u, s) _mm256_dpbusd_epi32(acc, u, s)
#define K256_ENTRY ck_avx_vnni_evex_matmul_r8
#include "interleaved_256.h"
#endif
