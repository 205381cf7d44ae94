// AVX-512 with VNNI kernels for the row-interleaved types (Q8_0_R8, Q4_0_R8, Q5_0_R8, Q4_K_R8; the layout
// is described in interleaved.c) and for Q6_K rows (the output head and part of Q4_K_M). One 512-bit register holds two groups of eight rows: its low
// half the 32 bytes of one group's piece, its high half the same piece of another group, so each
// instruction does the work of two AVX2 ones; and `vpdpbusd` multiplies unsigned by signed bytes
// and adds each four products into a 32-bit lane in one instruction, where AVX2 needs
// maddubs (to int16) and madd (to int32).
//
// Every lane still computes exactly what the readable reference computes for its row: the
// integer block sums are exact (no intermediate saturates), and the float operations on them are
// the same operations in the same order (per block, (d_w · d_x) then one fused multiply-add), so
// each kernel here equals the reference, and the AVX2 kernel, bit for bit, whatever the batch.
#include "kernels_internal.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c")))
#define AVX512_INLINE __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c"), always_inline)) static inline

/// 32 bytes at `a` in the low half, 32 bytes at `b` in the high half.
AVX512_INLINE __m512i load_pair(const unsigned char *a, const unsigned char *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

/// Eight f16 at `a` then eight at `b`, as sixteen floats.
AVX512_INLINE __m512 halves_pair(const unsigned char *a, const unsigned char *b) {
    return _mm512_cvtph_ps(_mm256_set_m128i(_mm_loadu_si128((const __m128i *)b), _mm_loadu_si128((const __m128i *)a)));
}

/// Four activation bytes broadcast to every 32-bit lane.
AVX512_INLINE __m512i bcast4(const int8_t *q) {
    int32_t v;
    memcpy(&v, q, 4);
    return _mm512_set1_epi32(v);
}

/// Each row's fifth bits for a piece of a Q5_0_R8 pair (as q5_bits in interleaved.c, on 16 rows):
/// byte k of a row's word becomes 16 when bit `first + k` of its qh is set.
AVX512_INLINE __m512i q5_bits_pair(__m512i qh, int first) {
    const char b = (char)(first / 8);
    const __m128i ctl = _mm_setr_epi8(b, b, b, b, 4 + b, 4 + b, 4 + b, 4 + b, 8 + b, 8 + b, 8 + b, 8 + b, 12 + b, 12 + b, 12 + b, 12 + b);
    const __m512i spread = _mm512_shuffle_epi8(qh, _mm512_broadcast_i32x4(ctl));
    const int s = first % 8;
    const __m512i bit = _mm512_set1_epi32((int)((1u << s) | (2u << s) << 8 | (4u << s) << 16 | (8u << s) << 24));
    return _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(spread, bit), _mm512_set1_epi8(0x10));
}

/// One Q4_0_R8 or Q5_0_R8 block column of two groups (16 rows × 32 columns, group-blocks `ga` and
/// `gb`) times m inputs (input t's block at x + t·xstride): acc[t] += (d_w·d_x)·(Σ q·x − o·Σx), o
/// the type's offset (8, or 16 with Q5_0's fifth bits added to the nibbles).
AVX512_INLINE void q4_5_0_pair(int type, const unsigned char *ga, const unsigned char *gb, const q8act_block *x, size_t xstride,
                               const int m, __m512 *acc) {
    const int five = type == CK_TYPE_Q5_0_R8, qs = five ? 48 : 16, offset = five ? 16 : 8;
    const __m512i mask = _mm512_set1_epi8(0x0F);
    const __m512i qh = five ? load_pair(ga + 16, gb + 16) : _mm512_setzero_si512();
    __m512i lo[4], hi[4];
#pragma clang loop unroll(full)
    for (int c = 0; c < 4; c++) {
        const __m512i v = load_pair(ga + qs + 32 * c, gb + qs + 32 * c);
        lo[c] = _mm512_and_si512(v, mask);
        hi[c] = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask);
        if (five) {
            lo[c] = _mm512_or_si512(lo[c], q5_bits_pair(qh, 4 * c));
            hi[c] = _mm512_or_si512(hi[c], q5_bits_pair(qh, 16 + 4 * c));
        }
    }
    const __m512 dw = halves_pair(ga, gb);
    for (int t = 0; t < m; t++) {
        const q8act_block *xt = x + t * xstride;
        // Two independent chains (integer sums are exact in any order), the offset as the start.
        __m512i s_lo = _mm512_set1_epi32(-offset * xt->sum), s_hi = _mm512_setzero_si512();
        for (int c = 0; c < 4; c++) {
            s_lo = _mm512_dpbusd_epi32(s_lo, lo[c], bcast4(xt->q + 4 * c));
            s_hi = _mm512_dpbusd_epi32(s_hi, hi[c], bcast4(xt->q + 16 + 4 * c));
        }
        const __m512i p = _mm512_add_epi32(s_lo, s_hi);
        acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(xt->d)), _mm512_cvtepi32_ps(p), acc[t]);
    }
}

/// One Q8_0_R8 block column of two groups times m inputs: signed × signed through vpdpbusd with
/// the weights' signs moved onto the activations (|w| ≤ 128 fits the unsigned operand).
AVX512_INLINE void q8_0_pair(const unsigned char *ga, const unsigned char *gb, const q8act_block *x, size_t xstride, const int m,
                             __m512 *acc) {
    __m512i a[8];
    __mmask64 negative[8];
    for (int p = 0; p < 8; p++) {
        const __m512i v = load_pair(ga + 16 + 32 * p, gb + 16 + 32 * p);
        a[p] = _mm512_abs_epi8(v);
        negative[p] = _mm512_movepi8_mask(v);
    }
    const __m512 dw = halves_pair(ga, gb);
    const __m512i zero = _mm512_setzero_si512();
    for (int t = 0; t < m; t++) {
        const q8act_block *xt = x + t * xstride;
        __m512i s[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
        for (int p = 0; p < 8; p++) {
            const __m512i q = bcast4(xt->q + 4 * p);
            s[p & 1] = _mm512_dpbusd_epi32(s[p & 1], a[p], _mm512_mask_sub_epi8(q, negative[p], zero, q));
        }
        acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(xt->d)), _mm512_cvtepi32_ps(_mm512_add_epi32(s[0], s[1])), acc[t]);
    }
}

AVX512_INLINE void r8_32_pair(int type, const unsigned char *ga, const unsigned char *gb, const q8act_block *x, size_t xstride,
                              const int m, __m512 *acc) {
    if (type == CK_TYPE_Q8_0_R8) q8_0_pair(ga, gb, x, xstride, m, acc);
    else q4_5_0_pair(type, ga, gb, x, xstride, m, acc);
}

/// Inputs per tile of the batched kernels (32-column types; 256-column types): each weight pair is
/// unpacked once for them.
#define TILE_32 8
#define TILE_K 8

/// Byte j (0…3) of each 32-bit lane, as an int32.
AVX512_INLINE __m512i lane_byte(__m512i words, int j) {
    return _mm512_and_si512(_mm512_srli_epi32(words, 8 * j), _mm512_set1_epi32(0xFF));
}

/// One Q4_K_R8 super-block column of two groups (16 rows × 256 columns) times the eight blocks of
/// m inputs: per sub-block j the exact scⱼ·Σq·x scaled by d_xⱼ into one sum and mⱼ·(d_xⱼ·Σx) into
/// another, then d and dmin once per super-block (the reference's order).
AVX512_INLINE void q4_k_pair(const unsigned char *ga, const unsigned char *gb, const q8act_block *x, size_t xstride, const int m,
                             __m512 *acc, __m512 *corr) {
    const __m512i mask = _mm512_set1_epi8(0x0F), low6 = _mm512_set1_epi8(0x3F), top2 = _mm512_set1_epi8(0x03);
    const __m512 d = halves_pair(ga, gb), dmin = halves_pair(ga + 16, gb + 16);
    const __m512i w0 = load_pair(ga + 32, gb + 32), w1 = load_pair(ga + 64, gb + 64), w2 = load_pair(ga + 96, gb + 96);
    // ggml's get_scale_min_k4 on every byte at once (as the AVX2 kernel does).
    const __m512i sc_lo = _mm512_and_si512(w0, low6), m_lo = _mm512_and_si512(w1, low6);
    const __m512i sc_hi =
        _mm512_or_si512(_mm512_and_si512(w2, mask), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(w0, 6), top2), 4));
    const __m512i m_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 4), mask),
                                         _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(w1, 6), top2), 4));
    __m512 scaled[TILE_K];
    for (int t = 0; t < m; t++) scaled[t] = _mm512_setzero_ps();
#pragma clang loop unroll(full)
    for (int c = 0; c < 4; c++) {
        __m512i s_lo[TILE_K], s_hi[TILE_K];
        for (int t = 0; t < m; t++) s_lo[t] = s_hi[t] = _mm512_setzero_si512();
        for (int k = 0; k < 8; k++) {
            const __m512i v = load_pair(ga + 128 + 32 * (8 * c + k), gb + 128 + 32 * (8 * c + k));
            const __m512i lo = _mm512_and_si512(v, mask), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask);
            for (int t = 0; t < m; t++) {
                const q8act_block *xc = x + t * xstride + 2 * c;
                s_lo[t] = _mm512_dpbusd_epi32(s_lo[t], lo, bcast4(xc[0].q + 4 * k));
                s_hi[t] = _mm512_dpbusd_epi32(s_hi[t], hi, bcast4(xc[1].q + 4 * k));
            }
        }
#pragma clang loop unroll(full)
        for (int h = 0; h < 2; h++) {
            const int j = 2 * c + h;
            const __m512i scales = lane_byte(j < 4 ? sc_lo : sc_hi, j % 4);
            for (int t = 0; t < m; t++) {
                const q8act_block *xb = x + t * xstride + j;
                const __m512i p = _mm512_mullo_epi32(h ? s_hi[t] : s_lo[t], scales);
                scaled[t] = _mm512_fmadd_ps(_mm512_set1_ps(xb->d), _mm512_cvtepi32_ps(p), scaled[t]);
            }
        }
    }
    for (int t = 0; t < m; t++) acc[t] = _mm512_fmadd_ps(d, scaled[t], acc[t]);
    // The minimum term after the products (its own chain, in the same order), so that a tile's
    // sums and this term's are not in registers at once.
    for (int t = 0; t < m; t++) {
        __m512 min_sum = _mm512_setzero_ps();
#pragma clang loop unroll(full)
        for (int j = 0; j < 8; j++) {
            const __m512 mins = _mm512_cvtepi32_ps(lane_byte(j < 4 ? m_lo : m_hi, j % 4));
            min_sum = _mm512_fmadd_ps(mins, _mm512_set1_ps(x[t * xstride + j].dsum), min_sum);
        }
        corr[t] = _mm512_fmadd_ps(dmin, min_sum, corr[t]);
    }
}

/// Writes lanes 0–7 to rows 8·ga… and lanes 8–15 to rows 8·gb… of input t's output row (gb = ga
/// writes only the low half: an odd group at the end of a range).
AVX512_INLINE void store_pair(__m512 v, float *y, size_t ga, size_t gb) {
    float lanes[16];
    _mm512_storeu_ps(lanes, v);
    memcpy(y + 8 * ga, lanes, 32);
    if (gb != ga) memcpy(y + 8 * gb, lanes + 8, 32);
}


/// Groups [g0, g1) of a 32-column interleaved type. One input: the groups of the four quarters of
/// the range in two registers (four distant streams, as the AVX2 kernel reads them). Several
/// inputs: adjacent groups in pairs, each pair's weights unpacked once for a tile of inputs.
AVX512_INLINE void r8_32_pair_m(int type, const unsigned char *ga, const unsigned char *gb, const q8act_block *x, size_t xstride,
                                size_t m, __m512 *acc) {
    switch (m) {  // constant m: each case compiles to straight-line code
    case 8: r8_32_pair(type, ga, gb, x, xstride, 8, acc); break;
    case 7: r8_32_pair(type, ga, gb, x, xstride, 7, acc); break;
    case 6: r8_32_pair(type, ga, gb, x, xstride, 6, acc); break;
    case 5: r8_32_pair(type, ga, gb, x, xstride, 5, acc); break;
    case 4: r8_32_pair(type, ga, gb, x, xstride, 4, acc); break;
    case 3: r8_32_pair(type, ga, gb, x, xstride, 3, acc); break;
    case 2: r8_32_pair(type, ga, gb, x, xstride, 2, acc); break;
    default: r8_32_pair(type, ga, gb, x, xstride, 1, acc); break;
    }
}

/// Groups [g0, g1) of a 32-column interleaved type. The groups of the four quarters of the range
/// are read together, in two registers (four distant streams: distant rows stream faster than
/// neighbours), each pair's weights unpacked once for a tile of inputs; the groups left over
/// after the quarters go in adjacent pairs.
AVX512_INLINE void matmul_r8_32(int type, const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x,
                                size_t n, float *y, size_t ldy) {
    const size_t bb = 8 * ck_block_bytes(type), gbytes = blocks * bb;
    const size_t quarter = (g1 - g0) / 4;
    for (size_t g = g0; g < g0 + quarter; g++) {
        const unsigned char *a = w + g * gbytes, *b = a + quarter * gbytes, *c = b + quarter * gbytes, *d = c + quarter * gbytes;
        for (size_t i0 = 0; i0 < n; i0 += TILE_32) {
            const size_t m = n - i0 < TILE_32 ? n - i0 : TILE_32;
            __m512 s0[TILE_32], s1[TILE_32];
            for (int t = 0; t < TILE_32; t++) s0[t] = s1[t] = _mm512_setzero_ps();
            for (size_t k = 0; k < blocks; k++) {
                const q8act_block *xk = x + i0 * blocks + k;
                r8_32_pair_m(type, a + k * bb, b + k * bb, xk, blocks, m, s0);
                r8_32_pair_m(type, c + k * bb, d + k * bb, xk, blocks, m, s1);
            }
            for (size_t t = 0; t < m; t++) {
                store_pair(s0[t], y + (i0 + t) * ldy, g, g + quarter);
                store_pair(s1[t], y + (i0 + t) * ldy, g + 2 * quarter, g + 3 * quarter);
            }
        }
    }
    for (size_t g = g0 + 4 * quarter; g < g1; g += 2) {
        const size_t h = g + 1 < g1 ? g + 1 : g;
        const unsigned char *ga = w + g * gbytes, *gb = w + h * gbytes;
        for (size_t i0 = 0; i0 < n; i0 += TILE_32) {
            const size_t m = n - i0 < TILE_32 ? n - i0 : TILE_32;
            __m512 acc[TILE_32];
            for (int t = 0; t < TILE_32; t++) acc[t] = _mm512_setzero_ps();
            for (size_t k = 0; k < blocks; k++) r8_32_pair_m(type, ga + k * bb, gb + k * bb, x + i0 * blocks + k, blocks, m, acc);
            for (size_t t = 0; t < m; t++) store_pair(acc[t], y + (i0 + t) * ldy, g, h);
        }
    }
}

AVX512 static void matmul_q4_0_r8(const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x, size_t n,
                                  float *y, size_t ldy) {
    matmul_r8_32(CK_TYPE_Q4_0_R8, w, blocks, g0, g1, x, n, y, ldy);
}

AVX512 static void matmul_q5_0_r8(const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x, size_t n,
                                  float *y, size_t ldy) {
    matmul_r8_32(CK_TYPE_Q5_0_R8, w, blocks, g0, g1, x, n, y, ldy);
}

AVX512 static void matmul_q8_0_r8(const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x, size_t n,
                                  float *y, size_t ldy) {
    matmul_r8_32(CK_TYPE_Q8_0_R8, w, blocks, g0, g1, x, n, y, ldy);
}

/// Byte j (0…3) of each 32-bit lane, sign-extended (Q6_K's int8 scales).
AVX512_INLINE __m512i lane_byte_signed(__m512i words, int j) {
    return _mm512_srai_epi32(_mm512_slli_epi32(words, 24 - 8 * j), 24);
}

/// Half k of one Q6_K_R8 super-block column of two groups (16 rows × 128 columns) times m inputs:
/// the activation blocks in q6_k_r8_order (interleaved.c), each as sc₀·Σ(q − 32)·x over its first
/// 16 values plus sc₁·Σ(q − 32)·x over the rest (vpdpbusd on the 6-bit values, each sum started at
/// −32·Σx), times the block's activation scale into scaled[t].
AVX512_INLINE void q6_k_half_pair(const unsigned char *ga, const unsigned char *gb, int k, const __m512i *words,
                                  const q8act_block *x, size_t xstride, const int m, __m512 *scaled) {
    const __m512i mask = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
    for (int pass = 0; pass < 2; pass++) {  // blocks 0 and 2 (ql pieces 16k…16k+7), then 1 and 3
        const int g_lo = pass, g_hi = pass + 2;
        __m512i p[TILE_K][2];  // input, block (g_lo, g_hi)
        for (int h = 0; h < 2; h++) {  // the block's first 16 values (scale 2g), then the last 16
            __m512i s[TILE_K][2];
            for (int t = 0; t < m; t++) {
                s[t][0] = _mm512_set1_epi32(x[t * xstride + 4 * k + g_lo].half_sums_neg32[h]);
                s[t][1] = _mm512_set1_epi32(x[t * xstride + 4 * k + g_hi].half_sums_neg32[h]);
            }
#pragma clang loop unroll(full)
            for (int jj = 0; jj < 4; jj++) {
                const int j = 4 * h + jj;
                const size_t ql = q6_k_r8_ql(16 * k + 8 * pass + j), qh = q6_k_r8_qh(8 * k + j);
                const __m512i q = load_pair(ga + ql, gb + ql);
                const __m512i hb = load_pair(ga + qh, gb + qh);
                // Top bits of block g are bits 2g, 2g+1 of the qh byte, moved to bits 4 and 5.
                const __m512i h_lo = pass ? _mm512_slli_epi16(hb, 2) : _mm512_slli_epi16(hb, 4);
                const __m512i h_hi = pass ? _mm512_srli_epi16(hb, 2) : hb;
                const __m512i v_lo = _mm512_or_si512(_mm512_and_si512(q, mask), _mm512_and_si512(h_lo, top));
                const __m512i v_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(q, 4), mask), _mm512_and_si512(h_hi, top));
                for (int t = 0; t < m; t++) {
                    const q8act_block *xk = x + t * xstride + 4 * k;
                    s[t][0] = _mm512_dpbusd_epi32(s[t][0], v_lo, bcast4(xk[g_lo].q + 4 * j));
                    s[t][1] = _mm512_dpbusd_epi32(s[t][1], v_hi, bcast4(xk[g_hi].q + 4 * j));
                }
            }
            for (int b = 0; b < 2; b++) {
                const int index = 8 * k + 2 * (b ? g_hi : g_lo) + h;  // this half's scale
                const __m512i sc = lane_byte_signed(words[index / 4], index % 4);
                for (int t = 0; t < m; t++) {
                    const __m512i part = _mm512_mullo_epi32(s[t][b], sc);
                    p[t][b] = h ? _mm512_add_epi32(p[t][b], part) : part;
                }
            }
        }
        for (int b = 0; b < 2; b++) {
            const int g = b ? g_hi : g_lo;
            for (int t = 0; t < m; t++)
                scaled[t] = _mm512_fmadd_ps(_mm512_set1_ps(x[t * xstride + 4 * k + g].d), _mm512_cvtepi32_ps(p[t][b]), scaled[t]);
        }
    }
}

/// One super-block column of a pair of Q6_K_R8 groups times m inputs: acc[t] += d·scaled.
AVX512_INLINE void q6_k_r8_pair(const unsigned char *a, const unsigned char *b, const q8act_block *x, size_t xstride, const int m,
                                __m512 *acc) {
    __m512i words[4];
    for (int w = 0; w < 4; w++) words[w] = load_pair(a + 16 + 32 * w, b + 16 + 32 * w);
    __m512 scaled[TILE_K];
    for (int t = 0; t < m; t++) scaled[t] = _mm512_setzero_ps();
    q6_k_half_pair(a, b, 0, words, x, xstride, m, scaled);
    q6_k_half_pair(a, b, 1, words, x, xstride, m, scaled);
    const __m512 d = halves_pair(a, b);
    for (int t = 0; t < m; t++) acc[t] = _mm512_fmadd_ps(d, scaled[t], acc[t]);
}

/// The groups (a, b) and, when c is not NULL, (c, d) of a 256-column interleaved type times m
/// inputs, super-block by super-block (so four streams are read together): out0[t] and out1[t]
/// are the pairs' results, Q4_K_R8's sum minus its minimum term (Q6_K_R8 has none: minus zero).
AVX512_INLINE void k_run(int type, const unsigned char *a, const unsigned char *b, const unsigned char *c, const unsigned char *d,
                         size_t superblocks, const q8act_block *x, size_t xstride, const int m, __m512 *out0, __m512 *out1) {
    const size_t sbytes = 8 * ck_block_bytes(type);
    __m512 acc0[TILE_K], corr0[TILE_K], acc1[TILE_K], corr1[TILE_K];
    for (int t = 0; t < m; t++) acc0[t] = corr0[t] = acc1[t] = corr1[t] = _mm512_setzero_ps();
    for (size_t sb = 0; sb < superblocks; sb++) {
        const size_t o = sb * sbytes;
        const q8act_block *xs = x + sb * 8;
        if (type == CK_TYPE_Q6_K_R8) {
            q6_k_r8_pair(a + o, b + o, xs, xstride, m, acc0);
            if (c) q6_k_r8_pair(c + o, d + o, xs, xstride, m, acc1);
        } else {
            q4_k_pair(a + o, b + o, xs, xstride, m, acc0, corr0);
            if (c) q4_k_pair(c + o, d + o, xs, xstride, m, acc1, corr1);
        }
    }
    for (int t = 0; t < m; t++) {
        out0[t] = _mm512_sub_ps(acc0[t], corr0[t]);
        if (c) out1[t] = _mm512_sub_ps(acc1[t], corr1[t]);
    }
}

AVX512_INLINE void k_run_m(int type, const unsigned char *a, const unsigned char *b, const unsigned char *c, const unsigned char *d,
                           size_t superblocks, const q8act_block *x, size_t xstride, size_t m, __m512 *out0, __m512 *out1) {
    switch (m) {  // constant m: each case compiles to straight-line code
    case 8: k_run(type, a, b, c, d, superblocks, x, xstride, 8, out0, out1); break;
    case 7: k_run(type, a, b, c, d, superblocks, x, xstride, 7, out0, out1); break;
    case 6: k_run(type, a, b, c, d, superblocks, x, xstride, 6, out0, out1); break;
    case 5: k_run(type, a, b, c, d, superblocks, x, xstride, 5, out0, out1); break;
    case 4: k_run(type, a, b, c, d, superblocks, x, xstride, 4, out0, out1); break;
    case 3: k_run(type, a, b, c, d, superblocks, x, xstride, 3, out0, out1); break;
    case 2: k_run(type, a, b, c, d, superblocks, x, xstride, 2, out0, out1); break;
    default: k_run(type, a, b, c, d, superblocks, x, xstride, 1, out0, out1); break;
    }
}

/// Groups [g0, g1) of a 256-column interleaved type (Q4_K_R8, Q6_K_R8): as matmul_r8_32, the four
/// quarters of the range together (a pair of groups from the first and second and a pair from the third
/// and fourth, super-block by super-block), the rest in adjacent pairs.
AVX512_INLINE void matmul_r8_256(int type, const unsigned char *w, size_t superblocks, size_t g0, size_t g1, const q8act_block *x,
                                 size_t n, float *y, size_t ldy) {
    const size_t gbytes = superblocks * 8 * ck_block_bytes(type), blocks = superblocks * 8;
    const size_t quarter = (g1 - g0) / 4;
    for (size_t g = g0; g < g0 + quarter; g++) {
        for (size_t i0 = 0; i0 < n; i0 += TILE_K) {
            const size_t m = n - i0 < TILE_K ? n - i0 : TILE_K;
            __m512 s0[TILE_K], s1[TILE_K];
            const q8act_block *xi = x + i0 * blocks;
            const unsigned char *a = w + g * gbytes, *b = a + quarter * gbytes, *c = b + quarter * gbytes, *d = c + quarter * gbytes;
            // Up to four inputs, the two pairs super-block by super-block: four streams together.
            // Their state then spills from the registers, which costs 35 % when the matrix sits in
            // the cache but saves more once it streams from memory (two inputs: 2.0 -> 1.3 single
            // products); a larger tile takes one pair at a time.
            if (m <= 4) {
                k_run_m(type, a, b, c, d, superblocks, xi, blocks, m, s0, s1);
            } else {
                k_run_m(type, a, b, NULL, NULL, superblocks, xi, blocks, m, s0, s0);
                k_run_m(type, c, d, NULL, NULL, superblocks, xi, blocks, m, s1, s1);
            }
            for (size_t t = 0; t < m; t++) {
                store_pair(s0[t], y + (i0 + t) * ldy, g, g + quarter);
                store_pair(s1[t], y + (i0 + t) * ldy, g + 2 * quarter, g + 3 * quarter);
            }
        }
    }
    for (size_t g = g0 + 4 * quarter; g < g1; g += 2) {
        const size_t h = g + 1 < g1 ? g + 1 : g;
        for (size_t i0 = 0; i0 < n; i0 += TILE_K) {
            const size_t m = n - i0 < TILE_K ? n - i0 : TILE_K;
            __m512 out[TILE_K];
            k_run_m(type, w + g * gbytes, w + h * gbytes, NULL, NULL, superblocks, x + i0 * blocks, blocks, m, out, out);
            for (size_t t = 0; t < m; t++) store_pair(out[t], y + (i0 + t) * ldy, g, h);
        }
    }
}

AVX512 static void matmul_q4_k_r8(const unsigned char *w, size_t superblocks, size_t g0, size_t g1, const q8act_block *x, size_t n,
                                  float *y, size_t ldy) {
    matmul_r8_256(CK_TYPE_Q4_K_R8, w, superblocks, g0, g1, x, n, y, ldy);
}

AVX512 static void matmul_q6_k_r8(const unsigned char *w, size_t superblocks, size_t g0, size_t g1, const q8act_block *x, size_t n,
                                  float *y, size_t ldy) {
    matmul_r8_256(CK_TYPE_Q6_K_R8, w, superblocks, g0, g1, x, n, y, ldy);
}

void ck_avx512_matmul_r8(int type, const void *w, size_t cols, size_t g0, size_t g1, const void *xq, size_t n, float *y, size_t ldy) {
    const unsigned char *wb = (const unsigned char *)w;
    const q8act_block *x = (const q8act_block *)xq;
    if (type == CK_TYPE_Q4_0_R8) matmul_q4_0_r8(wb, cols / 32, g0, g1, x, n, y, ldy);
    else if (type == CK_TYPE_Q8_0_R8) matmul_q8_0_r8(wb, cols / 32, g0, g1, x, n, y, ldy);
    else if (type == CK_TYPE_Q5_0_R8) matmul_q5_0_r8(wb, cols / 32, g0, g1, x, n, y, ldy);
    else if (type == CK_TYPE_Q6_K_R8) matmul_q6_k_r8(wb, cols / 256, g0, g1, x, n, y, ldy);
    else matmul_q4_k_r8(wb, cols / 256, g0, g1, x, n, y, ldy);
}
#endif

#if defined(__x86_64__) || defined(__i386__)
// MARK: Q6_K (plain rows)

/// The hsum256 order (matvec_avx2.c) on each half: lanes 0–7 → *a, lanes 8–15 → *b.
AVX512_INLINE void hsum_halves(__m512 v, float *a, float *b) {
    for (int h = 0; h < 2; h++) {
        const __m256 x = h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)) : _mm512_castps512_ps256(v);
        __m128 lo = _mm256_castps256_ps128(x), hi = _mm256_extractf128_ps(x, 1);
        lo = _mm_add_ps(lo, hi);
        lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
        lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
        *(h ? b : a) = _mm_cvtss_f32(lo);
    }
}

/// Two Q6_K rows (super-block `sb` of rows `ra` and `rb`, one per half) times m inputs: per
/// group of 32 values and per 4-value lane the exact integer scᵢ·Σ(q − 32)·x, as the AVX2 kernel
/// computes it (sc·Σq·x from vpdpbusd, minus 32·sc·Σx from the activation block's lane sums),
/// then acc += (d·d_x)·that, groups in order.
AVX512_INLINE void q6_k_pair(const unsigned char *ra, const unsigned char *rb, const q8act_block *x, size_t xstride, const int m,
                             __m512 *acc) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(3);
    uint16_t ha, hb;
    memcpy(&ha, ra + 208, 2);
    memcpy(&hb, rb + 208, 2);
    const __m512 d = _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(_cvtsh_ss(ha))), _mm256_castps_pd(_mm256_set1_ps(_cvtsh_ss(hb))), 1));
    for (int k = 0; k < 2; k++) {
        const __m512i ql0 = load_pair(ra + 64 * k, rb + 64 * k), ql1 = load_pair(ra + 64 * k + 32, rb + 64 * k + 32);
        const __m512i qh = load_pair(ra + 128 + 32 * k, rb + 128 + 32 * k);
        const __m512i q[4] = {
            _mm512_or_si512(_mm512_and_si512(ql0, m4), _mm512_slli_epi16(_mm512_and_si512(qh, m2), 4)),
            _mm512_or_si512(_mm512_and_si512(ql1, m4), _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 2), m2), 4)),
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql0, 4), m4),
                            _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 4), m2), 4)),
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql1, 4), m4),
                            _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 6), m2), 4)),
        };
        // Row a's eight scales of this half in lanes 0–7, row b's in lanes 8–15.
        int64_t sa, sb;
        memcpy(&sa, ra + 192 + 8 * k, 8);
        memcpy(&sb, rb + 192 + 8 * k, 8);
        const __m512i scales = _mm512_cvtepi8_epi32(_mm_set_epi64x(sb, sa));
        for (int g = 0; g < 4; g++) {
            const int s0 = 2 * g, s1 = 2 * g + 1;
            const __m512i sc = _mm512_permutexvar_epi32(
                _mm512_setr_epi32(s0, s0, s0, s0, s1, s1, s1, s1, 8 + s0, 8 + s0, 8 + s0, 8 + s0, 8 + s1, 8 + s1, 8 + s1, 8 + s1),
                scales);
            for (int t = 0; t < m; t++) {
                const q8act_block *xb = x + t * xstride + 4 * k + g;
                const __m512i xq = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)xb->q));
                // sc·(Σq·x − 32·Σx) per lane, which is exactly sc·Σq·x − sc·32·Σx.
                const __m512i start = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)xb->lane_sums_neg32));
                const __m512i prod = _mm512_mullo_epi32(_mm512_dpbusd_epi32(start, q[g], xq), sc);
                acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(xb->d)), _mm512_cvtepi32_ps(prod), acc[t]);
            }
        }
    }
}

#define TILE_Q6 4

AVX512_INLINE void q6_k_pair_m(const unsigned char *ra, const unsigned char *rb, const q8act_block *x, size_t xstride, size_t m,
                               __m512 *acc) {
    switch (m) {  // constant m: each case compiles to straight-line code
    case 4: q6_k_pair(ra, rb, x, xstride, 4, acc); break;
    case 3: q6_k_pair(ra, rb, x, xstride, 3, acc); break;
    case 2: q6_k_pair(ra, rb, x, xstride, 2, acc); break;
    default: q6_k_pair(ra, rb, x, xstride, 1, acc); break;
    }
}

/// Rows [r0, r1) of a Q6_K matrix: the rows of the four quarters of the range in two registers
/// (four distant streams), each pair's values rebuilt once per super-block for a tile of inputs;
/// the rows left over after the quarters in adjacent pairs.
AVX512 static void matmul_q6_k(const unsigned char *w, size_t stride, size_t superblocks, size_t r0, size_t r1, const q8act_block *x,
                               size_t n, float *y, size_t ldy) {
    const size_t blocks = superblocks * 8, sbytes = sizeof(ck_block_q6_k);
    const size_t quarter = (r1 - r0) / 4;
    for (size_t r = r0; r < r0 + quarter; r++) {
        const unsigned char *a = w + r * stride, *b = a + quarter * stride, *c = b + quarter * stride, *d = c + quarter * stride;
        for (size_t i0 = 0; i0 < n; i0 += TILE_Q6) {
            const size_t m = n - i0 < TILE_Q6 ? n - i0 : TILE_Q6;
            __m512 s0[TILE_Q6], s1[TILE_Q6];
            for (int t = 0; t < TILE_Q6; t++) s0[t] = s1[t] = _mm512_setzero_ps();
            for (size_t sb = 0; sb < superblocks; sb++) {
                const q8act_block *xs = x + i0 * blocks + sb * 8;
                q6_k_pair_m(a + sb * sbytes, b + sb * sbytes, xs, blocks, m, s0);
                q6_k_pair_m(c + sb * sbytes, d + sb * sbytes, xs, blocks, m, s1);
            }
            for (size_t t = 0; t < m; t++) {
                float *yt = y + (i0 + t) * ldy;
                hsum_halves(s0[t], yt + r, yt + r + quarter);
                hsum_halves(s1[t], yt + r + 2 * quarter, yt + r + 3 * quarter);
            }
        }
    }
    for (size_t r = r0 + 4 * quarter; r < r1; r += 2) {
        const size_t rb = r + 1 < r1 ? r + 1 : r;
        for (size_t i0 = 0; i0 < n; i0 += TILE_Q6) {
            const size_t m = n - i0 < TILE_Q6 ? n - i0 : TILE_Q6;
            __m512 acc[TILE_Q6];
            for (int t = 0; t < TILE_Q6; t++) acc[t] = _mm512_setzero_ps();
            for (size_t sb = 0; sb < superblocks; sb++)
                q6_k_pair_m(w + r * stride + sb * sbytes, w + rb * stride + sb * sbytes, x + i0 * blocks + sb * 8, blocks, m, acc);
            for (size_t t = 0; t < m; t++) {
                float lo, hi;
                hsum_halves(acc[t], &lo, &hi);
                y[(i0 + t) * ldy + r] = lo;
                if (rb != r) y[(i0 + t) * ldy + rb] = hi;
            }
        }
    }
}

void ck_avx512_matmul_q6_k(const void *w, size_t cols, size_t row_begin, size_t row_end, const void *xq, size_t n, float *y,
                           size_t ldy) {
    matmul_q6_k((const unsigned char *)w, ck_row_bytes(CK_TYPE_Q6_K, cols), cols / 256, row_begin, row_end,
                (const q8act_block *)xq, n, y, ldy);
}
#endif
