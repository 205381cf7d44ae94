// The readable reference paths of the row products: each decodes or unpacks a row and sums in a
// fixed order. They are what every fast kernel (matvec_avx2.c, interleaved.c) is tested against,
// and what runs on a CPU without AVX2/FMA/F16C or under HASSKIT_KERNELS=reference.
#include "kernels_internal.h"
#include <math.h>
#include <string.h>

void ck_matvec_rows_reference(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                              const float *x, float *y, float *scratch) {
    const size_t stride = ck_row_bytes(type, cols);
    const unsigned char *base = (const unsigned char *)w;
    for (size_t r = row_begin; r < row_end; r++) {
        const void *row = base + r * stride;
        if (type == CK_TYPE_F32) {
            y[r] = ck_dot8((const float *)row, x, cols);
        } else if (ck_interleaved_rows(type) > 1) {
            ck_dequantize_rows(type, w, cols, r, r + 1, scratch);
            y[r] = ck_dot8(scratch, x, cols);
        } else {
            ck_dequantize_row(type, row, scratch, cols);
            y[r] = ck_dot8(scratch, x, cols);
        }
    }
}

// MARK: 8-bit activations
// Products of Q8_0/Q4_0/Q5_0 rows with activations quantized to 8 bits, as llama.cpp computes them:
// x is cut into blocks of 32 with one f32 scale each (ck_quantize_q8act), and each block's dot
// product is an exact integer sum, scaled once by (weight scale × activation scale). That turns
// 32 float multiply-adds into one integer multiply-add instruction, so decoding stops being
// bound by arithmetic on a small CPU.
//
// The reference (plain C) and the AVX2 kernel give bit-identical results: the reference keeps
// the AVX2 kernel's structure (8 lanes, each the integer sum of 4 consecutive products of a
// block, accumulated per lane with a fused multiply-add, summed in hsum256's order). A batch of
// inputs gives, for each input, exactly what that input alone gives.

void ck_quantize_q8act_reference(const float *x, size_t cols, void *dst) {
    q8act_block *out = (q8act_block *)dst;
    for (size_t b = 0; b < cols / 32; b++) {
        const float *xb = x + b * 32;
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(xb[i]));
        const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        out[b].d = d;
        for (int i = 0; i < 32; i++) {
            float v = roundf(xb[i] * id);
            v = v > 127 ? 127 : (v < -127 ? -127 : v);
            out[b].q[i] = (int8_t)(v == v ? v : 0);  // NaN (every comparison false) becomes 0
        }
        q8act_sums(&out[b]);
    }
}

/// Block b of a Q8_0/Q4_0/Q5_0 row as 32 signed values and its scale.
static void unpack_block(int type, const unsigned char *row, size_t b, int8_t w[32], float *d) {
    if (type == CK_TYPE_Q8_0) {
        const unsigned char *block = row + b * sizeof(ck_block_q8_0);
        *d = half_value(block);
        memcpy(w, block + 2, 32);
    } else if (type == CK_TYPE_Q5_0) {
        const unsigned char *block = row + b * sizeof(ck_block_q5_0);
        *d = half_value(block);
        for (int i = 0; i < 32; i++) w[i] = (int8_t)(q5_value(block + 2, i) - 16);
    } else {
        const unsigned char *block = row + b * sizeof(ck_block_q4_0);
        *d = half_value(block);
        for (int i = 0; i < 16; i++) {
            w[i] = (int8_t)((block[2 + i] & 0x0F) - 8);
            w[i + 16] = (int8_t)((block[2 + i] >> 4) - 8);
        }
    }
}

/// The sum of eight lane accumulators in hsum256's order (the references' twin of it).
static inline float hsum8_reference(const float acc[8]) {
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

static float dot_q8act_reference(int type, const unsigned char *row, const q8act_block *x, size_t blocks) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t b = 0; b < blocks; b++) {
        int8_t w[32];
        float dw;
        unpack_block(type, row, b, w, &dw);
        const float d = dw * x[b].d;
        for (int lane = 0; lane < 8; lane++) {
            int32_t s = 0;
            for (int i = 4 * lane; i < 4 * lane + 4; i++) s += (int32_t)w[i] * (int32_t)x[b].q[i];
            acc[lane] = fmaf(d, (float)s, acc[lane]);
        }
    }
    return hsum8_reference(acc);
}

/// Q4_K (value = d·scⱼ·q − dmin·mⱼ per sub-block j of 32): the lanes take (d·dx) × scⱼ·(q·x) and
/// a separate sum takes (dmin·dx) × mⱼ·Σx, subtracted at the end.
static float dot_q4k_q8act_reference(const unsigned char *row, const q8act_block *x, size_t superblocks) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, corr = 0;
    for (size_t sb = 0; sb < superblocks; sb++) {
        const unsigned char *blk = row + sb * sizeof(ck_block_q4_k);
        const float d = half_value(blk), dmin = half_value(blk + 2);
        const uint8_t *packed = blk + 4, *qs = blk + 16;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            unpack_scale_min(j, packed, &sc, &m);
            const q8act_block *xb = x + sb * 8 + j;
            const uint8_t *chunk = qs + 32 * (j / 2);
            for (int lane = 0; lane < 8; lane++) {
                int32_t s = 0;
                for (int i = 4 * lane; i < 4 * lane + 4; i++) s += (int32_t)((j % 2 ? chunk[i] >> 4 : chunk[i] & 0xF)) * xb->q[i];
                acc[lane] = fmaf(d * xb->d, (float)(sc * s), acc[lane]);
            }
            corr = fmaf(dmin * xb->d, (float)(m * xb->sum), corr);
        }
    }
    return hsum8_reference(acc) - corr;
}

/// Q5_1 (value = d·q + m, q = 0…31): the lanes take (d·dx) × q·x, and a separate sum takes
/// (m·dx) × Σx, added at the end.
static float dot_q5_1_q8act_reference(const unsigned char *row, const q8act_block *x, size_t blocks) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, corr = 0;
    for (size_t b = 0; b < blocks; b++) {
        const unsigned char *block = row + b * sizeof(ck_block_q5_1);
        const float d = half_value(block), m = half_value(block + 2);
        for (int lane = 0; lane < 8; lane++) {
            int32_t s = 0;
            for (int i = 4 * lane; i < 4 * lane + 4; i++) s += q5_value(block + 4, i) * x[b].q[i];
            acc[lane] = fmaf(d * x[b].d, (float)s, acc[lane]);
        }
        corr = fmaf(m * x[b].d, (float)x[b].sum, corr);
    }
    return hsum8_reference(acc) + corr;
}

/// Q5_K: Q4_K's sums with each value's fifth bit from qh (bit j of qh[l] for value l of
/// sub-block j).
static float dot_q5k_q8act_reference(const unsigned char *row, const q8act_block *x, size_t superblocks) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, corr = 0;
    for (size_t sb = 0; sb < superblocks; sb++) {
        const unsigned char *blk = row + sb * sizeof(ck_block_q5_k);
        const float d = half_value(blk), dmin = half_value(blk + 2);
        const uint8_t *packed = blk + 4, *qh = blk + 16, *qs = blk + 48;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            unpack_scale_min(j, packed, &sc, &m);
            const q8act_block *xb = x + sb * 8 + j;
            const uint8_t *chunk = qs + 32 * (j / 2);
            for (int lane = 0; lane < 8; lane++) {
                int32_t s = 0;
                for (int i = 4 * lane; i < 4 * lane + 4; i++) {
                    const int q = (j % 2 ? chunk[i] >> 4 : chunk[i] & 0xF) | ((qh[i] >> j) & 1) << 4;
                    s += q * xb->q[i];
                }
                acc[lane] = fmaf(d * xb->d, (float)(sc * s), acc[lane]);
            }
            corr = fmaf(dmin * xb->d, (float)(m * xb->sum), corr);
        }
    }
    return hsum8_reference(acc) - corr;
}

/// The scale of lane `lane` (elements 4·lane…4·lane+3 of a 32-value group `g` of a Q6_K half):
/// the first 16 values use scale 2g, the next 16 scale 2g+1.
static inline int l_scale(int lane, int g) { return 2 * g + lane / 4; }

/// Q6_K (value = d·scᵢ·(q − 32), one int8 scale per 16 values): a 4-value lane lies inside one
/// scale group, so each lane's sum is the exact integer scᵢ·Σ(q − 32)·x.
static float dot_q6k_q8act_reference(const unsigned char *row, const q8act_block *x, size_t superblocks) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t sb = 0; sb < superblocks; sb++) {
        const unsigned char *blk = row + sb * sizeof(ck_block_q6_k);
        const float d = half_value(blk + 208);
        for (int k = 0; k < 2; k++) {
            const uint8_t *ql = blk + 64 * k, *qh = blk + 128 + 32 * k;
            const int8_t *sc = (const int8_t *)(blk + 192) + 8 * k;
            for (int g = 0; g < 4; g++) {
                const q8act_block *xb = x + sb * 8 + k * 4 + g;
                const float dd = d * xb->d;
                for (int lane = 0; lane < 8; lane++) {
                    int32_t s = 0;
                    for (int l = 4 * lane; l < 4 * lane + 4; l++) {
                        const int lo = g % 2 ? ql[l + 32] : ql[l];
                        const int q = ((g < 2 ? lo & 0xF : lo >> 4) | (((qh[l] >> (2 * g)) & 3) << 4)) - 32;
                        s += q * xb->q[l];
                    }
                    acc[lane] = fmaf(dd, (float)(sc[l_scale(lane, g)] * s), acc[lane]);
                }
            }
        }
    }
    return hsum8_reference(acc);
}

void ck_matmul_rows_q8act_reference(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                                    const void *xq, size_t n, float *y, size_t ldy) {
    if (ck_interleaved_rows(type) > 1) {
        ck_matmul_rows_r8_reference(type, w, cols, row_begin, row_end, xq, n, y, ldy);
        return;
    }
    const size_t stride = ck_row_bytes(type, cols), blocks = cols / 32;
    for (size_t r = row_begin; r < row_end; r++) {
        const unsigned char *row = (const unsigned char *)w + r * stride;
        for (size_t i = 0; i < n; i++) {
            const q8act_block *x = (const q8act_block *)xq + i * blocks;
            y[i * ldy + r] = type == CK_TYPE_Q4_K ? dot_q4k_q8act_reference(row, x, cols / 256)
                           : type == CK_TYPE_Q5_K ? dot_q5k_q8act_reference(row, x, cols / 256)
                           : type == CK_TYPE_Q6_K ? dot_q6k_q8act_reference(row, x, cols / 256)
                           : type == CK_TYPE_Q5_1 ? dot_q5_1_q8act_reference(row, x, blocks)
                                                  : dot_q8act_reference(type, row, x, blocks);
        }
    }
}
