// The AVX2 form of the 256-bit interleaved kernels (interleaved_256.h): maddubs and madd.
#include "kernels_internal.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define K256_INLINE __attribute__((target("avx2,fma,f16c"), always_inline))
#define K256_FN __attribute__((target("avx2,fma,f16c")))
#define K256_VNNI 0
#define K256_ENTRY ck_avx2_matmul_r8
#include "interleaved_256.h"
#endif
