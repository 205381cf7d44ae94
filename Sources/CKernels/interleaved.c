// Row-interleaved types, Q8_0_R8, Q4_0_R8, Q5_0_R8, Q4_K_R8 and Q6_K_R8 (docs/FORMAT.md): the blocks of Q8_0,
// Q4_0, Q5_0, Q4_K and Q6_K, byte for byte, but eight consecutive rows stored together, block by block, so that one
// 32-byte load holds four bytes of each of the eight rows. A product's eight float lanes are then the
// eight rows' results, which removes most of the per-block work of the row-at-a-time kernels:
// - no horizontal sums, and one f16→f32 conversion and one multiply-add for eight blocks;
// - a 4-bit block's int16 partial products are summed before they are widened, so a block of 32
//   values costs one madd for eight rows instead of one per row;
// - a batch of inputs shares each unpacked piece of weights.
// On the 2-core development machine this halves the time of a Q4_0 matrix-vector product and makes
// batched products faster than f32 sgemm (README, "Performance").
//
// Within a group of 8 rows, block b of the group occupies 8 × the type's block bytes:
// - Q8_0_R8 (272 bytes per 32 columns): row i's f16 scale at 2i; its 32 value bytes as eight
//   4-byte pieces, piece p at 16 + 32p + 4i.
// - Q4_0_R8 (144 bytes per 32 columns): row i's f16 scale at 2i; its 16 nibble bytes as four
//   4-byte pieces, piece c at 16 + 32c + 4i.
// - Q5_0_R8 (176 bytes per 32 columns): row i's f16 scale at 2i, its 4 bytes of fifth bits at
//   16 + 4i, its 16 nibble bytes as four 4-byte pieces, piece c at 48 + 32c + 4i.
// - Q4_K_R8 (1152 bytes per 256 columns): row i's d at 2i and dmin at 16 + 2i; its 12 scale bytes
//   as three 4-byte words, word w at 32 + 32w + 4i; its 128 nibble bytes as 32 pieces, piece p at
//   128 + 32p + 4i.
// - Q6_K_R8 (1680 bytes per 256 columns): row i's d at 2i; its 16 scale bytes as four words, word
//   w at 16 + 32w + 4i; its 128 ql bytes as 32 pieces and its 64 qh bytes as 16 pieces, at
//   q6_k_r8_ql(p) + 4i and q6_k_r8_qh(p) + 4i (kernels_internal.h: in the order the products read
//   them, so a group is one forward stream). A 32-byte load of ql piece 16k + j (j < 8) holds values
//   128k + 4j … 128k + 4j + 3 (low nibbles) and 128k + 64 + 4j … (high nibbles) of eight rows; ql
//   piece 16k + 8 + j the values 32 further on; qh piece 8k + j the top two bits of all four.
//
// Each product has a readable reference (one row at a time, gathered from the layout) that every
// SIMD kernel equals bit for bit, whatever the batch size.
#include "kernels_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int ck_base_type(int type) {
    switch (type) {
    case CK_TYPE_Q4_0_R8: return CK_TYPE_Q4_0;
    case CK_TYPE_Q4_K_R8: return CK_TYPE_Q4_K;
    case CK_TYPE_Q8_0_R8: return CK_TYPE_Q8_0;
    case CK_TYPE_Q5_0_R8: return CK_TYPE_Q5_0;
    case CK_TYPE_Q6_K_R8: return CK_TYPE_Q6_K;
    default: return type;
    }
}

size_t ck_interleaved_rows(int type) { return ck_base_type(type) != type ? 8 : 1; }

/// Copies row i's block between its place in a group-block `gb` and a block of the base type's
/// layout `blk`: into the group when `into_group`, out of it otherwise (the layout above, as
/// 2- and 4-byte pieces).
static void move_block(int type, unsigned char *gb, unsigned char *blk, size_t i, int into_group) {
#define PIECE(group_offset, block_offset, n) \
    (into_group ? memcpy(gb + (group_offset), blk + (block_offset), n) : memcpy(blk + (block_offset), gb + (group_offset), n))
    if (type != CK_TYPE_Q6_K_R8) PIECE(2 * i, 0, 2);
    if (type == CK_TYPE_Q8_0_R8) {
        for (size_t p = 0; p < 8; p++) PIECE(16 + 32 * p + 4 * i, 2 + 4 * p, 4);
    } else if (type == CK_TYPE_Q4_0_R8) {
        for (size_t c = 0; c < 4; c++) PIECE(16 + 32 * c + 4 * i, 2 + 4 * c, 4);
    } else if (type == CK_TYPE_Q5_0_R8) {
        PIECE(16 + 4 * i, 2, 4);
        for (size_t c = 0; c < 4; c++) PIECE(48 + 32 * c + 4 * i, 6 + 4 * c, 4);
    } else if (type == CK_TYPE_Q6_K_R8) {  // d is at the end of a Q6_K block
        PIECE(2 * i, 208, 2);
        for (size_t w = 0; w < 4; w++) PIECE(16 + 32 * w + 4 * i, 192 + 4 * w, 4);
        for (size_t p = 0; p < 32; p++) PIECE(q6_k_r8_ql(p) + 4 * i, 4 * p, 4);
        for (size_t p = 0; p < 16; p++) PIECE(q6_k_r8_qh(p) + 4 * i, 128 + 4 * p, 4);
    } else {
        PIECE(16 + 2 * i, 2, 2);
        for (size_t w = 0; w < 3; w++) PIECE(32 + 32 * w + 4 * i, 4 + 4 * w, 4);
        for (size_t p = 0; p < 32; p++) PIECE(128 + 32 * p + 4 * i, 16 + 4 * p, 4);
    }
#undef PIECE
}

/// Elements per block and bytes per block of the base type.
static void base_block(int type, size_t *elements, size_t *bytes) {
    const int base = ck_base_type(type);
    *elements = base == CK_TYPE_Q4_K || base == CK_TYPE_Q6_K ? 256 : 32;
    *bytes = ck_row_bytes(base, *elements);
}

void ck_interleave_rows(int type, const void *src, size_t rows, size_t cols, void *dst) {
    size_t per, bpb;
    base_block(type, &per, &bpb);
    const size_t blocks = cols / per, stride = blocks * bpb;
    const unsigned char *in = (const unsigned char *)src;
    unsigned char *out = (unsigned char *)dst;
    for (size_t g = 0; g < rows / 8; g++) {
        for (size_t b = 0; b < blocks; b++) {
            unsigned char *gb = out + (g * blocks + b) * 8 * bpb;
            for (size_t i = 0; i < 8; i++) move_block(type, gb, (unsigned char *)in + (8 * g + i) * stride + b * bpb, i, 1);
        }
    }
}

/// Block b of row r of an interleaved matrix, gathered into its base type's layout.
static void gather_block(int type, const unsigned char *w, size_t blocks, size_t bpb, size_t r, size_t b, unsigned char *blk) {
    move_block(type, (unsigned char *)w + ((r / 8) * blocks + b) * 8 * bpb, blk, r % 8, 0);
}

void ck_gather_rows(int type, const void *w, size_t cols, const size_t *rows, size_t n, void *dst) {
    const size_t stride = ck_row_bytes(ck_base_type(type), cols);
    unsigned char *out = (unsigned char *)dst;
    if (ck_interleaved_rows(type) == 1) {
        for (size_t i = 0; i < n; i++) memcpy(out + i * stride, (const unsigned char *)w + rows[i] * stride, stride);
        return;
    }
    size_t per, bpb;
    base_block(type, &per, &bpb);
    const size_t blocks = cols / per;
    for (size_t i = 0; i < n; i++) {
        for (size_t b = 0; b < blocks; b++) gather_block(type, (const unsigned char *)w, blocks, bpb, rows[i], b, out + i * stride + b * bpb);
    }
}

void ck_dequantize_rows(int type, const void *w, size_t cols, size_t row_begin, size_t row_end, float *dst) {
    if (ck_interleaved_rows(type) == 1) {
        const size_t stride = ck_row_bytes(type, cols);
        for (size_t r = row_begin; r < row_end; r++) {
            ck_dequantize_row(type, (const unsigned char *)w + r * stride, dst + (r - row_begin) * cols, cols);
        }
        return;
    }
    // Each row gathered into the base type's layout, then decoded by the base type's decoder.
    size_t per, bpb;
    base_block(type, &per, &bpb);
    const size_t blocks = cols / per;
    unsigned char stack[4096], *row = blocks * bpb <= sizeof stack ? stack : malloc(blocks * bpb);
    if (!row) {
        memset(dst, 0, (row_end - row_begin) * cols * sizeof(float));
        return;
    }
    for (size_t r = row_begin; r < row_end; r++) {
        for (size_t b = 0; b < blocks; b++) gather_block(type, (const unsigned char *)w, blocks, bpb, r, b, row + b * bpb);
        ck_dequantize_row(ck_base_type(type), row, dst + (r - row_begin) * cols, cols);
    }
    if (row != stack) free(row);
}

// MARK: References

/// Row r of a Q8_0_R8, Q4_0_R8 or Q5_0_R8 matrix times one input: per block the exact integer
/// Σq·x (for Q4_0, Σ(q − 8)·x; for Q5_0, Σ(q − 16)·x), then one fused multiply-add by (d·dx),
/// blocks in order.
static float dot_r8_32_reference(int type, const unsigned char *w, size_t blocks, size_t r, const q8act_block *x) {
    const size_t bpb = ck_block_bytes(type);
    float acc = 0;
    unsigned char blk[sizeof(ck_block_q8_0)];
    for (size_t b = 0; b < blocks; b++) {
        gather_block(type, w, blocks, bpb, r, b, blk);
        int32_t s = 0;
        if (type == CK_TYPE_Q8_0_R8) {
            for (int j = 0; j < 32; j++) s += (int8_t)blk[2 + j] * x[b].q[j];
        } else if (type == CK_TYPE_Q5_0_R8) {  // Σ(q − 16)·x
            for (int j = 0; j < 32; j++) s += q5_value(blk + 2, j) * x[b].q[j];
            s -= 16 * x[b].sum;
        } else {
            for (int j = 0; j < 16; j++) s += (blk[2 + j] & 0xF) * x[b].q[j] + (blk[2 + j] >> 4) * x[b].q[j + 16];
            s -= 8 * x[b].sum;
        }
        acc = fmaf(half_value(blk) * x[b].d, (float)s, acc);
    }
    return acc;
}

/// Row r of a Q4_K_R8 matrix times one input. Per super-block, the sub-blocks' exact integers
/// scⱼ·Σq·x times their activation scale dxⱼ go into one sum and mⱼ times dxⱼ·Σx into another;
/// d and dmin scale the two once per super-block; the difference at the end.
static float dot_q4_k_r8_reference(const unsigned char *w, size_t superblocks, size_t r, const q8act_block *x) {
    float acc = 0, corr = 0;
    unsigned char blk[sizeof(ck_block_q4_k)];
    for (size_t sb = 0; sb < superblocks; sb++) {
        gather_block(CK_TYPE_Q4_K_R8, w, superblocks, sizeof(ck_block_q4_k), r, sb, blk);
        const float d = half_value(blk), dmin = half_value(blk + 2);
        float scaled = 0, mins = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            unpack_scale_min(j, blk + 4, &sc, &m);
            const q8act_block *xb = x + sb * 8 + j;
            const uint8_t *chunk = blk + 16 + 32 * (j / 2);
            int32_t s = 0;
            for (int i = 0; i < 32; i++) s += (j % 2 ? chunk[i] >> 4 : chunk[i] & 0xF) * xb->q[i];
            scaled = fmaf(xb->d, (float)(sc * s), scaled);
            mins = fmaf((float)m, xb->dsum, mins);
        }
        acc = fmaf(d, scaled, acc);
        corr = fmaf(dmin, mins, corr);
    }
    return acc - corr;
}

/// Activation blocks of a Q6_K half in the order the Q6_K_R8 products take them: the two that
/// the first 64 ql bytes hold (low nibbles, then high), then the two of the next 64.
static const int q6_k_r8_order[4] = {0, 2, 1, 3};

/// Value l (0…31) of activation block g (0…3) of half k of a Q6_K block, as stored (0…63).
static inline int q6_k_value(const unsigned char *blk, int k, int g, int l) {
    const uint8_t *ql = blk + 64 * k, *qh = blk + 128 + 32 * k;
    const int lo = g % 2 ? ql[l + 32] : ql[l];
    return (g < 2 ? lo & 0xF : lo >> 4) | (((qh[l] >> (2 * g)) & 3) << 4);
}

/// Row r of a Q6_K_R8 matrix times one input. Per activation block (32 values, two int8 scales)
/// the exact integer sc₀·Σ(q − 32)·x over its first 16 values plus sc₁·Σ(q − 32)·x over the last
/// 16, times the block's activation scale into one sum, blocks in q6_k_r8_order; d scales the sum
/// once per super-block.
static float dot_q6_k_r8_reference(const unsigned char *w, size_t superblocks, size_t r, const q8act_block *x) {
    float acc = 0;
    unsigned char blk[sizeof(ck_block_q6_k)];
    for (size_t sb = 0; sb < superblocks; sb++) {
        gather_block(CK_TYPE_Q6_K_R8, w, superblocks, sizeof(ck_block_q6_k), r, sb, blk);
        const int8_t *sc = (const int8_t *)(blk + 192);
        float scaled = 0;
        for (int k = 0; k < 2; k++) {
            for (int o = 0; o < 4; o++) {
                const int g = q6_k_r8_order[o];
                const q8act_block *xb = x + sb * 8 + 4 * k + g;
                int32_t s[2] = {0, 0};
                for (int l = 0; l < 32; l++) s[l / 16] += (q6_k_value(blk, k, g, l) - 32) * xb->q[l];
                const int32_t p = sc[8 * k + 2 * g] * s[0] + sc[8 * k + 2 * g + 1] * s[1];
                scaled = fmaf(xb->d, (float)p, scaled);
            }
        }
        acc = fmaf(half_value(blk + 208), scaled, acc);
    }
    return acc;
}

void ck_matmul_rows_r8_reference(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                                 const void *xq, size_t n, float *y, size_t ldy) {
    const unsigned char *wb = (const unsigned char *)w;
    const q8act_block *x = (const q8act_block *)xq;
    for (size_t r = row_begin; r < row_end; r++) {
        for (size_t i = 0; i < n; i++) {
            const q8act_block *xi = x + i * (cols / 32);
            y[i * ldy + r] = type == CK_TYPE_Q4_K_R8   ? dot_q4_k_r8_reference(wb, cols / 256, r, xi)
                             : type == CK_TYPE_Q6_K_R8 ? dot_q6_k_r8_reference(wb, cols / 256, r, xi)
                                                       : dot_r8_32_reference(type, wb, cols / 32, r, xi);
        }
    }
}

// The SIMD kernels over whole groups: interleaved_avx2.c and interleaved_avx_vnni*.c (one source,
// interleaved_256.h), interleaved_avx512.c.
int ck_matmul_rows_r8(int type, const void *w, size_t cols, size_t row_begin, size_t row_end, const void *xq, size_t n,
                      float *y, size_t ldy, int path) {
    if (path == CK_PATH_REFERENCE) {
        ck_matmul_rows_r8_reference(type, w, cols, row_begin, row_end, xq, n, y, ldy);
        return 1;
    }
#if defined(__x86_64__) || defined(__i386__)
    // Whole groups go to the kernel; rows of a group cut by the range go through the reference.
    const size_t g0 = (row_begin + 7) / 8, g1 = row_end / 8;
    if (g0 < g1) {
        switch (path) {
        case CK_PATH_AVX512_VNNI: ck_avx512_matmul_r8(type, w, cols, g0, g1, xq, n, y, ldy); break;
        case CK_PATH_AVX_VNNI: ck_avx_vnni_matmul_r8(type, w, cols, g0, g1, xq, n, y, ldy); break;
        case CK_PATH_AVX_VNNI_EVEX: ck_avx_vnni_evex_matmul_r8(type, w, cols, g0, g1, xq, n, y, ldy); break;
        default: ck_avx2_matmul_r8(type, w, cols, g0, g1, xq, n, y, ldy); break;
        }
        ck_matmul_rows_r8_reference(type, w, cols, row_begin, 8 * g0, xq, n, y, ldy);
        ck_matmul_rows_r8_reference(type, w, cols, 8 * g1, row_end, xq, n, y, ldy);
        return 1;
    }
#endif
    ck_matmul_rows_r8_reference(type, w, cols, row_begin, row_end, xq, n, y, ldy);
    return 1;
}
