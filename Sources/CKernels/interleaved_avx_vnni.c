// The AVX-VNNI form of the 256-bit interleaved kernels (interleaved_256.h): VEX-encoded vpdpbusd,
// for CPUs with VNNI but without AVX-512 (dispatched on `avxvnni` in CPUID). Its arithmetic is
// tested through interleaved_avx_vnni_evex.c, the same source in the EVEX encoding.
#include "kernels_internal.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define K256_INLINE __attribute__((target("avx2,fma,f16c,avxvnni"), always_inline))
#define K256_FN __attribute__((target("avx2,fma,f16c,avxvnni")))
#define K256_VNNI 1
#define K256_DPBUSD(acc, u, s) _mm256_dpbusd_avx_epi32(acc, u, s)
#define K256_ENTRY ck_avx_vnni_matmul_r8
#include "interleaved_256.h"
#endif
