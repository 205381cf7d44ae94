// Definitions shared by the kernel files (not part of the module's public header).
#ifndef HASSKIT_KERNELS_INTERNAL_H
#define HASSKIT_KERNELS_INTERNAL_H
#include "CKernels.h"
#include <string.h>

/// One block of 32 activations quantized to 8 bits (ck_quantize_q8act).
typedef struct {
    /// 8 × the sum of each lane's 4 values: Q4_0 multiplies the unsigned nibbles (0…15) and
    /// subtracts this, which is (nibble − 8)·x exactly.
    int32_t lane_sums8[8];
    float d;
    /// The sum of the 32 values (Q4_K's minimum term).
    int32_t sum;
    int8_t q[32];
    /// d × sum, as a float (the Q4_K_R8 minimum term).
    float dsum;
    /// −32 × the same lane sums: Q6_K's offset (its values are q − 32), the start of a lane's
    /// integer sum so that one multiply by the scale gives sc·Σ(q − 32)·x.
    int32_t lane_sums_neg32[8];
    /// −32 × the sum of the first 16 values and of the last 16: Q6_K_R8's offset per scale.
    int32_t half_sums_neg32[2];
} q8act_block;

/// Where a Q6_K_R8 group-block (interleaved.c) keeps row 0's 4-byte ql piece p (0…31) and qh piece
/// p (0…15); row i's is 4i further on. Each half k takes 768 bytes from 144 + 768k, in the order
/// the products read them: ql piece 16k + j beside qh piece 8k + j (j = 0…7), then ql pieces
/// 16k + 8 … 16k + 15.
static inline size_t q6_k_r8_ql(size_t p) {
    const size_t k = p / 16, j = p % 16;
    return 144 + 768 * k + (j < 8 ? 64 * j : 512 + 32 * (j - 8));
}
static inline size_t q6_k_r8_qh(size_t p) { return 144 + 768 * (p / 8) + 64 * (p % 8) + 32; }

/// The lane sums of a block whose values are set.
static inline void q8act_sums(q8act_block *b) {
    b->sum = 0;
    for (int lane = 0; lane < 8; lane++) {
        const int8_t *q = b->q + 4 * lane;
        b->lane_sums8[lane] = 8 * (q[0] + q[1] + q[2] + q[3]);
        b->lane_sums_neg32[lane] = -32 * (q[0] + q[1] + q[2] + q[3]);
        b->sum += q[0] + q[1] + q[2] + q[3];
    }
    b->half_sums_neg32[0] = b->lane_sums_neg32[0] + b->lane_sums_neg32[1] + b->lane_sums_neg32[2] + b->lane_sums_neg32[3];
    b->half_sums_neg32[1] = b->lane_sums_neg32[4] + b->lane_sums_neg32[5] + b->lane_sums_neg32[6] + b->lane_sums_neg32[7];
    b->dsum = b->d * (float)b->sum;
}

/// The AVX2/FMA/F16C kernels (matvec_avx2.c); callers check ck_cpu_features() first.
void ck_avx2_matvec_rows(int type, const void *w, size_t cols, size_t row_begin, size_t row_end, const float *x, float *y);
void ck_avx2_matmul_q8_0(const void *w, size_t cols, size_t row_begin, size_t row_end, const float *x, size_t n, float *y,
                         size_t ldy);
void ck_avx2_quantize_q8act(const float *x, size_t cols, void *dst);
void ck_avx2_matmul_rows_q8act(int type, const void *w, size_t cols, size_t row_begin, size_t row_end, const void *xq, size_t n,
                               float *y, size_t ldy);

/// Scale and minimum j (0…7) of a Q4_K super-block, from its 12 bytes of packed 6-bit values
/// (ggml's get_scale_min_k4).
static inline void unpack_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/// ck_matmul_rows_q8act for the interleaved types (interleaved.c) on `path` (any CK_PATH_*), which
/// the caller has checked this CPU runs.
int ck_matmul_rows_r8(int type, const void *w, size_t cols, size_t row_begin, size_t row_end, const void *xq, size_t n,
                      float *y, size_t ldy, int path);
/// The 256-bit kernels of the interleaved types over whole groups [g0, g1) (interleaved_256.h):
/// AVX2, AVX-VNNI, and the AVX-VNNI source in the AVX512-VL encoding (for tests).
void ck_avx2_matmul_r8(int type, const void *w, size_t cols, size_t g0, size_t g1, const void *xq, size_t n, float *y,
                       size_t ldy);
void ck_avx_vnni_matmul_r8(int type, const void *w, size_t cols, size_t g0, size_t g1, const void *xq, size_t n, float *y,
                           size_t ldy);
void ck_avx_vnni_evex_matmul_r8(int type, const void *w, size_t cols, size_t g0, size_t g1, const void *xq, size_t n,
                                float *y, size_t ldy);
/// The AVX-512 VNNI kernels (interleaved_avx512.c): the interleaved types over whole groups
/// [g0, g1), and Q6_K rows.
void ck_avx512_matmul_r8(int type, const void *w, size_t cols, size_t g0, size_t g1, const void *xq, size_t n, float *y,
                         size_t ldy);
void ck_avx512_matmul_q6_k(const void *w, size_t cols, size_t row_begin, size_t row_end, const void *xq, size_t n, float *y,
                           size_t ldy);
void ck_matmul_rows_r8_reference(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                                 const void *xq, size_t n, float *y, size_t ldy);

/// dot(a, b) with eight independent accumulators: vectorisable without -ffast-math, and the same
/// order wherever it is used.
static inline float ck_dot8(const float *a, const float *b, size_t n) {
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    }
    float s = 0;
    for (; i < n; i++) s += a[i] * b[i];
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

/// Q5_0 and Q5_1 blocks end in the same 20 bytes: qh (bit j, little-endian, is value j's fifth bit)
/// then qs (values 0–15 in the low nibbles, 16–31 in the high). Value j (0…31) of such a tail.
static inline int q5_value(const unsigned char *tail, int j) {
    const int nibble = j < 16 ? tail[4 + j] & 0x0F : tail[4 + j - 16] >> 4;
    return nibble | ((tail[j / 8] >> (j % 8)) & 1) << 4;
}

/// Writes 32 values (0…31) as such a tail.
static inline void q5_pack(unsigned char *tail, const int q[32]) {
    memset(tail, 0, 4);
    for (int j = 0; j < 16; j++) tail[4 + j] = (unsigned char)((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
    for (int j = 0; j < 32; j++) tail[j / 8] |= (unsigned char)(((q[j] >> 4) & 1) << (j % 8));
}

static inline float half_value(const unsigned char *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return ck_half_to_float_scalar(h);
}
#endif
