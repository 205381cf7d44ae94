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
// Each product has a readable reference (one row at a time, gathered from the layout) that the
// AVX2 kernel equals bit for bit, whatever the batch size.
#include "kernels_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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

#if defined(__x86_64__) || defined(__i386__)
// MARK: AVX2

/// Four activation bytes broadcast to the eight row lanes.
__attribute__((target("avx2"), always_inline))
static inline __m256i bcast4(const int8_t *q) {
    int32_t v;
    memcpy(&v, q, 4);
    return _mm256_set1_epi32(v);
}

/// Each row's fifth bits for piece c of a Q5_0_R8 group-block: byte k of row i's word becomes 16
/// when bit `first + k` of its qh is set (first = 4c for the low nibbles, 16 + 4c for the high).
__attribute__((target("avx2"), always_inline))
static inline __m256i q5_bits(__m256i qh, int first) {
    const char b = (char)(first / 8);
    const __m128i ctl = _mm_setr_epi8(b, b, b, b, 4 + b, 4 + b, 4 + b, 4 + b, 8 + b, 8 + b, 8 + b, 8 + b, 12 + b, 12 + b, 12 + b, 12 + b);
    const __m256i spread = _mm256_shuffle_epi8(qh, _mm256_set_m128i(ctl, ctl));
    const int s = first % 8;
    const __m256i bit = _mm256_set1_epi32((int)((1u << s) | (2u << s) << 8 | (4u << s) << 16 | (8u << s) << 24));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

/// One Q4_0_R8 or Q5_0_R8 group-block (8 rows × 32 columns) times one block of m ≤ 4 inputs (input
/// t's at x + t·xstride): acc[t][i] += (dᵢ·dxₜ)·sᵢₜ, sᵢₜ = Σ q·x − o·Σx with o the type's offset (8,
/// or 16 with Q5_0's fifth bits added to the nibbles), the weights unpacked once for all inputs and
/// every input's operations in the order of a single input. Q4_0's 8 int16 partial sums fit
/// (8 × 2 × 15 × 127); Q5_0's low and high nibbles are summed apart (4 × 2 × 31 × 127 each fits)
/// and widened before they meet.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void q4_5_0_r8_block(int type, const unsigned char *gb, const q8act_block *x, size_t xstride, const int m,
                                   __m256 *acc) {
    const int five = type == CK_TYPE_Q5_0_R8, qs = five ? 48 : 16, offset = five ? 16 : 8;
    const __m256i mask = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    const __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(gb + 16)) : _mm256_setzero_si256();
    __m256i lo[4], hi[4];
    // Unrolled, so that q5_bits' shuffle controls and masks are constants.
#pragma clang loop unroll(full)
    for (int c = 0; c < 4; c++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(gb + qs + 32 * c));
        lo[c] = _mm256_and_si256(v, mask);
        hi[c] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
        if (five) {
            lo[c] = _mm256_or_si256(lo[c], q5_bits(qh, 4 * c));
            hi[c] = _mm256_or_si256(hi[c], q5_bits(qh, 16 + 4 * c));
        }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)gb));
    for (int t = 0; t < m; t++) {
        const q8act_block *xt = x + t * xstride;
        __m256i sl = _mm256_setzero_si256(), sh = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            sl = _mm256_add_epi16(sl, _mm256_maddubs_epi16(lo[c], bcast4(xt->q + 4 * c)));
            const __m256i h = _mm256_maddubs_epi16(hi[c], bcast4(xt->q + 16 + 4 * c));
            if (five) sh = _mm256_add_epi16(sh, h);
            else sl = _mm256_add_epi16(sl, h);
        }
        __m256i p = _mm256_madd_epi16(sl, ones);
        if (five) p = _mm256_add_epi32(p, _mm256_madd_epi16(sh, ones));
        p = _mm256_sub_epi32(p, _mm256_set1_epi32(offset * xt->sum));
        acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(xt->d)), _mm256_cvtepi32_ps(p), acc[t]);
    }
}

/// One Q8_0_R8 group-block (8 rows × 32 columns) times one block of m ≤ 4 inputs, as
/// q4_5_0_r8_block: signed × signed through maddubs with the weights' signs moved onto the
/// activations (|w| ≤ 127, so a pair sum fits int16), widened to int32 per piece.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void q8_0_r8_block(const unsigned char *gb, const q8act_block *x, size_t xstride, const int m, __m256 *acc) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i v[8], a[8];
    for (int p = 0; p < 8; p++) {
        v[p] = _mm256_loadu_si256((const __m256i *)(gb + 16 + 32 * p));
        a[p] = _mm256_sign_epi8(v[p], v[p]);
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)gb));
    for (int t = 0; t < m; t++) {
        const q8act_block *xt = x + t * xstride;
        __m256i s = _mm256_setzero_si256();
        for (int p = 0; p < 8; p++) {
            const __m256i prod = _mm256_maddubs_epi16(a[p], _mm256_sign_epi8(bcast4(xt->q + 4 * p), v[p]));
            s = _mm256_add_epi32(s, _mm256_madd_epi16(prod, ones));
        }
        acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(xt->d)), _mm256_cvtepi32_ps(s), acc[t]);
    }
}

/// The group-block product of a 32-column interleaved type (the type a constant after inlining).
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void r8_block(int type, const unsigned char *gb, const q8act_block *x, size_t xstride, const int m, __m256 *acc) {
    if (type == CK_TYPE_Q8_0_R8) q8_0_r8_block(gb, x, xstride, m, acc);
    else q4_5_0_r8_block(type, gb, x, xstride, m, acc);
}

/// Byte j (0…3) of each row's 32-bit word, as the int16 pair (v, v) (madd multiplier).
__attribute__((target("avx2"), always_inline))
static inline __m256i byte_pairs(__m256i words, int j) {
    const char a = (char)j, b = (char)(4 + j), c = (char)(8 + j), d = (char)(12 + j), z = (char)0x80;
    const __m128i ctl = _mm_setr_epi8(a, z, a, z, b, z, b, z, c, z, c, z, d, z, d, z);
    return _mm256_shuffle_epi8(words, _mm256_set_m128i(ctl, ctl));
}

/// Byte j of each row's 32-bit word, as the int16 pair (v, 0).
__attribute__((target("avx2"), always_inline))
static inline __m256i byte_low(__m256i words, int j) {
    const char a = (char)j, b = (char)(4 + j), c = (char)(8 + j), d = (char)(12 + j), z = (char)0x80;
    const __m128i ctl = _mm_setr_epi8(a, z, z, z, b, z, z, z, c, z, z, z, d, z, z, z);
    return _mm256_shuffle_epi8(words, _mm256_set_m128i(ctl, ctl));
}

/// One Q4_K_R8 group-superblock (8 rows × 256 columns) times the 8 blocks of m ≤ 2 inputs (input t's
/// at x + t·xstride): each piece of weights unpacked once for all of them, every input's operations
/// in the order of a single input. The 6-bit scales and mins of the eight rows are unpacked
/// together with 32-bit lane operations.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void q4_k_r8_superblock(const unsigned char *gb, const q8act_block *x, size_t xstride, const int m, __m256 *acc,
                                      __m256 *corr) {
    const __m256i mask = _mm256_set1_epi8(0x0F), low6 = _mm256_set1_epi8(0x3F), top2 = _mm256_set1_epi8(0x03);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)gb));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + 16)));
    const __m256i w0 = _mm256_loadu_si256((const __m256i *)(gb + 32));
    const __m256i w1 = _mm256_loadu_si256((const __m256i *)(gb + 64));
    const __m256i w2 = _mm256_loadu_si256((const __m256i *)(gb + 96));
    // ggml's get_scale_min_k4 on every byte at once: scales 0–3 and mins 0–3 are the low 6 bits of
    // words 0 and 1; scales and mins 4–7 take a nibble of word 2 and the top 2 bits of word 0 or 1.
    const __m256i sc_lo = _mm256_and_si256(w0, low6), m_lo = _mm256_and_si256(w1, low6);
    const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(w2, mask), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(w0, 6), top2), 4));
    const __m256i m_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(w2, 4), mask),
                                         _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(w1, 6), top2), 4));
    __m256 scaled[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()}, min_sum[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    // Unrolled so that each sub-block's shuffle controls are constants (a loop built them with
    // sixteen byte inserts per sub-block).
#pragma clang loop unroll(full)
    for (int c = 0; c < 4; c++) {
        __m256i s_lo[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}, s_hi[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int k = 0; k < 8; k++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(gb + 128 + 32 * (8 * c + k)));
            const __m256i lo = _mm256_and_si256(v, mask), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
            for (int t = 0; t < m; t++) {
                const q8act_block *x_lo = x + t * xstride + 2 * c;
                s_lo[t] = _mm256_add_epi16(s_lo[t], _mm256_maddubs_epi16(lo, bcast4(x_lo[0].q + 4 * k)));
                s_hi[t] = _mm256_add_epi16(s_hi[t], _mm256_maddubs_epi16(hi, bcast4(x_lo[1].q + 4 * k)));
            }
        }
#pragma clang loop unroll(full)
        for (int h = 0; h < 2; h++) {
            const int j = 2 * c + h;
            const __m256i scales = byte_pairs(j < 4 ? sc_lo : sc_hi, j % 4);
            const __m256 mins = _mm256_cvtepi32_ps(byte_low(j < 4 ? m_lo : m_hi, j % 4));
            for (int t = 0; t < m; t++) {
                const q8act_block *xb = x + t * xstride + j;
                const __m256i p = _mm256_madd_epi16(h ? s_hi[t] : s_lo[t], scales);
                scaled[t] = _mm256_fmadd_ps(_mm256_set1_ps(xb->d), _mm256_cvtepi32_ps(p), scaled[t]);
                min_sum[t] = _mm256_fmadd_ps(mins, _mm256_set1_ps(xb->dsum), min_sum[t]);
            }
        }
    }
    for (int t = 0; t < m; t++) {
        acc[t] = _mm256_fmadd_ps(d, scaled[t], acc[t]);
        corr[t] = _mm256_fmadd_ps(dmin, min_sum[t], corr[t]);
    }
}

/// One Q6_K_R8 group-superblock (8 rows × 256 columns) times the 8 blocks of m ≤ 2 inputs: the
/// activation blocks in q6_k_r8_order, each sc₀·Σ(q − 32)·x over its first 16 values plus
/// sc₁·Σ(q − 32)·x over the rest (maddubs pairs summed two at a time in int16, at most
/// 4 × 63 × 127, then widened; each sum started at −32·Σx), times the block's activation scale into
/// one sum; d once per super-block.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void q6_k_r8_superblock(const unsigned char *gb, const q8act_block *x, size_t xstride, const int m, __m256 *acc) {
    const __m256i mask = _mm256_set1_epi8(0x0F), top = _mm256_set1_epi8(0x30), ones = _mm256_set1_epi16(1);
    __m256 scaled[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
#pragma clang loop unroll(full)
    for (int k = 0; k < 2; k++) {
#pragma clang loop unroll(full)
        for (int pass = 0; pass < 2; pass++) {  // blocks 0 and 2, then 1 and 3 (q6_k_r8_order)
            const int g_lo = pass, g_hi = pass + 2;
            __m256i s[2][2][2];  // input, block (g_lo, g_hi), half of the block
            for (int t = 0; t < m; t++) {
                for (int h = 0; h < 2; h++) {
                    s[t][0][h] = _mm256_set1_epi32(x[t * xstride + 4 * k + g_lo].half_sums_neg32[h]);
                    s[t][1][h] = _mm256_set1_epi32(x[t * xstride + 4 * k + g_hi].half_sums_neg32[h]);
                }
            }
#pragma clang loop unroll(full)
            for (int j = 0; j < 8; j += 2) {
                __m256i v_lo[2], v_hi[2];
                for (int u = 0; u < 2; u++) {
                    const __m256i q = _mm256_loadu_si256((const __m256i *)(gb + q6_k_r8_ql(16 * k + 8 * pass + j + u)));
                    const __m256i hb = _mm256_loadu_si256((const __m256i *)(gb + q6_k_r8_qh(8 * k + j + u)));
                    const __m256i h_lo = pass ? _mm256_slli_epi16(hb, 2) : _mm256_slli_epi16(hb, 4);
                    const __m256i h_hi = pass ? _mm256_srli_epi16(hb, 2) : hb;
                    v_lo[u] = _mm256_or_si256(_mm256_and_si256(q, mask), _mm256_and_si256(h_lo, top));
                    v_hi[u] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), mask), _mm256_and_si256(h_hi, top));
                }
                for (int t = 0; t < m; t++) {
                    const q8act_block *xk = x + t * xstride + 4 * k;
                    const __m256i lo = _mm256_add_epi16(_mm256_maddubs_epi16(v_lo[0], bcast4(xk[g_lo].q + 4 * j)),
                                                        _mm256_maddubs_epi16(v_lo[1], bcast4(xk[g_lo].q + 4 * j + 4)));
                    const __m256i hi = _mm256_add_epi16(_mm256_maddubs_epi16(v_hi[0], bcast4(xk[g_hi].q + 4 * j)),
                                                        _mm256_maddubs_epi16(v_hi[1], bcast4(xk[g_hi].q + 4 * j + 4)));
                    s[t][0][j / 4] = _mm256_add_epi32(s[t][0][j / 4], _mm256_madd_epi16(lo, ones));
                    s[t][1][j / 4] = _mm256_add_epi32(s[t][1][j / 4], _mm256_madd_epi16(hi, ones));
                }
            }
#pragma clang loop unroll(full)
            for (int b = 0; b < 2; b++) {
                const int g = b ? g_hi : g_lo, first = 8 * k + 2 * g;  // the block's first scale
                const __m256i words = _mm256_loadu_si256((const __m256i *)(gb + 16 + 32 * (first / 4)));
                const __m256i sc0 = _mm256_srai_epi32(_mm256_slli_epi32(words, 24 - 8 * (first % 4)), 24);
                const __m256i sc1 = _mm256_srai_epi32(_mm256_slli_epi32(words, 16 - 8 * (first % 4)), 24);
                for (int t = 0; t < m; t++) {
                    const __m256i p = _mm256_add_epi32(_mm256_mullo_epi32(s[t][b][0], sc0), _mm256_mullo_epi32(s[t][b][1], sc1));
                    scaled[t] = _mm256_fmadd_ps(_mm256_set1_ps(x[t * xstride + 4 * k + g].d), _mm256_cvtepi32_ps(p), scaled[t]);
                }
            }
        }
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)gb));
    for (int t = 0; t < m; t++) acc[t] = _mm256_fmadd_ps(d, scaled[t], acc[t]);
}

/// Groups [g0, g1) of 8 rows. One input: four groups at a time, from the four quarters of the
/// range (distant rows stream faster than neighbours: see matvec_q8act_rows4 in matvec.c).
/// Several inputs: each group-block loaded once for every input.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void matmul_r8_32_avx2(int type, const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x,
                                     size_t n, float *y, size_t ldy) {
    const size_t bb = 8 * ck_block_bytes(type), gbytes = blocks * bb;  // eight rows' blocks
    size_t first = g0;
    if (n == 1) {
        const size_t quarter = (g1 - g0) / 4;
        for (size_t g = g0; g < g0 + quarter; g++) {
            const unsigned char *a = w + g * gbytes, *b = a + quarter * gbytes, *c = b + quarter * gbytes, *d = c + quarter * gbytes;
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (size_t k = 0; k < blocks; k++) {
                r8_block(type, a + k * bb, x + k, 0, 1, &s0);
                r8_block(type, b + k * bb, x + k, 0, 1, &s1);
                r8_block(type, c + k * bb, x + k, 0, 1, &s2);
                r8_block(type, d + k * bb, x + k, 0, 1, &s3);
            }
            _mm256_storeu_ps(y + 8 * g, s0);
            _mm256_storeu_ps(y + 8 * (g + quarter), s1);
            _mm256_storeu_ps(y + 8 * (g + 2 * quarter), s2);
            _mm256_storeu_ps(y + 8 * (g + 3 * quarter), s3);
        }
        first = g0 + 4 * quarter;
    }
    for (size_t g = first; g < g1; g++) {
        const unsigned char *gw = w + g * gbytes;
        for (size_t i0 = 0; i0 < n; i0 += 4) {
            const size_t m = n - i0 < 4 ? n - i0 : 4;
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (size_t k = 0; k < blocks; k++) {
                const q8act_block *xk = x + i0 * blocks + k;
                switch (m) {  // constant m: each case compiles to straight-line code
                case 4: r8_block(type, gw + k * bb, xk, blocks, 4, acc); break;
                case 3: r8_block(type, gw + k * bb, xk, blocks, 3, acc); break;
                case 2: r8_block(type, gw + k * bb, xk, blocks, 2, acc); break;
                default: r8_block(type, gw + k * bb, xk, blocks, 1, acc); break;
                }
            }
            for (size_t t = 0; t < m; t++) {
                float lanes[8];
                _mm256_storeu_ps(lanes, acc[t]);
                for (int i = 0; i < 8; i++) y[(i0 + t) * ldy + 8 * g + i] = lanes[i];
            }
        }
    }
}

// The 32-column kernel with the type fixed at compile time.
__attribute__((target("avx2,fma,f16c")))
static void matmul_q4_0_r8_avx2(const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x, size_t n, float *y, size_t ldy) {
    matmul_r8_32_avx2(CK_TYPE_Q4_0_R8, w, blocks, g0, g1, x, n, y, ldy);
}

__attribute__((target("avx2,fma,f16c")))
static void matmul_q5_0_r8_avx2(const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x, size_t n, float *y, size_t ldy) {
    matmul_r8_32_avx2(CK_TYPE_Q5_0_R8, w, blocks, g0, g1, x, n, y, ldy);
}

__attribute__((target("avx2,fma,f16c")))
static void matmul_q8_0_r8_avx2(const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x, size_t n, float *y, size_t ldy) {
    matmul_r8_32_avx2(CK_TYPE_Q8_0_R8, w, blocks, g0, g1, x, n, y, ldy);
}

/// Groups [g0, g1) of a 256-column interleaved type (Q4_K_R8, Q6_K_R8), as matmul_r8_32_avx2: one
/// input, the four quarters of the range together; several, each group-superblock unpacked once
/// for two inputs.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void matmul_r8_256_avx2(int type, const unsigned char *w, size_t superblocks, size_t g0, size_t g1, const q8act_block *x,
                                      size_t n, float *y, size_t ldy) {
    const size_t sbytes = 8 * ck_block_bytes(type), gbytes = superblocks * sbytes, blocks = superblocks * 8;
#define SUPERBLOCK(gb, xs, stride, M, acc, corr) \
    (type == CK_TYPE_Q6_K_R8 ? q6_k_r8_superblock(gb, xs, stride, M, acc) : q4_k_r8_superblock(gb, xs, stride, M, acc, corr))
    size_t first = g0;
    if (n == 1) {
        const size_t quarter = (g1 - g0) / 4;
        for (size_t g = g0; g < g0 + quarter; g++) {
            __m256 acc[4], corr[4];
            for (int t = 0; t < 4; t++) acc[t] = corr[t] = _mm256_setzero_ps();
            for (size_t sb = 0; sb < superblocks; sb++) {
                for (int t = 0; t < 4; t++) SUPERBLOCK(w + (g + t * quarter) * gbytes + sb * sbytes, x + sb * 8, 0, 1, &acc[t], &corr[t]);
            }
            for (int t = 0; t < 4; t++) _mm256_storeu_ps(y + 8 * (g + t * quarter), _mm256_sub_ps(acc[t], corr[t]));
        }
        first = g0 + 4 * quarter;
    }
    for (size_t g = first; g < g1; g++) {
        for (size_t i = 0; i < n; i += 2) {
            const int m = n - i >= 2 ? 2 : 1;
            __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()}, corr[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
            for (size_t sb = 0; sb < superblocks; sb++) {
                const unsigned char *gb = w + g * gbytes + sb * sbytes;
                if (m == 2) SUPERBLOCK(gb, x + i * blocks + sb * 8, blocks, 2, acc, corr);
                else SUPERBLOCK(gb, x + i * blocks + sb * 8, blocks, 1, acc, corr);
            }
            for (int t = 0; t < m; t++) {
                float lanes[8];
                _mm256_storeu_ps(lanes, _mm256_sub_ps(acc[t], corr[t]));
                for (int l = 0; l < 8; l++) y[(i + t) * ldy + 8 * g + l] = lanes[l];
            }
        }
    }
#undef SUPERBLOCK
}

__attribute__((target("avx2,fma,f16c")))
static void matmul_q4_k_r8_avx2(const unsigned char *w, size_t superblocks, size_t g0, size_t g1, const q8act_block *x, size_t n,
                                float *y, size_t ldy) {
    matmul_r8_256_avx2(CK_TYPE_Q4_K_R8, w, superblocks, g0, g1, x, n, y, ldy);
}

__attribute__((target("avx2,fma,f16c")))
static void matmul_q6_k_r8_avx2(const unsigned char *w, size_t superblocks, size_t g0, size_t g1, const q8act_block *x, size_t n,
                                float *y, size_t ldy) {
    matmul_r8_256_avx2(CK_TYPE_Q6_K_R8, w, superblocks, g0, g1, x, n, y, ldy);
}
#endif

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
        const unsigned char *wb = (const unsigned char *)w;
        const q8act_block *x = (const q8act_block *)xq;
        if (path == CK_PATH_AVX512_VNNI) ck_avx512_matmul_r8(type, w, cols, g0, g1, xq, n, y, ldy);
        else if (type == CK_TYPE_Q4_0_R8) matmul_q4_0_r8_avx2(wb, cols / 32, g0, g1, x, n, y, ldy);
        else if (type == CK_TYPE_Q8_0_R8) matmul_q8_0_r8_avx2(wb, cols / 32, g0, g1, x, n, y, ldy);
        else if (type == CK_TYPE_Q5_0_R8) matmul_q5_0_r8_avx2(wb, cols / 32, g0, g1, x, n, y, ldy);
        else if (type == CK_TYPE_Q6_K_R8) matmul_q6_k_r8_avx2(wb, cols / 256, g0, g1, x, n, y, ldy);
        else matmul_q4_k_r8_avx2(wb, cols / 256, g0, g1, x, n, y, ldy);
        ck_matmul_rows_r8_reference(type, w, cols, row_begin, 8 * g0, xq, n, y, ldy);
        ck_matmul_rows_r8_reference(type, w, cols, 8 * g1, row_end, xq, n, y, ldy);
        return 1;
    }
#endif
    ck_matmul_rows_r8_reference(type, w, cols, row_begin, row_end, xq, n, y, ldy);
    return 1;
}
