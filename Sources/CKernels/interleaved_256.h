// The 256-bit kernels of the row-interleaved types (layouts in interleaved.c), written once and
// compiled three times, each instantiation a translation unit of its own that defines:
// - K256_INLINE / K256_FN: the target attribute (with always_inline, static inline) of its helpers
//   and of its kernels;
// - K256_VNNI: 0 for AVX2, whose 8-bit products go through maddubs (to int16, summed there where
//   they fit) and madd (to int32); 1 for VNNI, whose vpdpbusd multiplies unsigned by signed bytes
//   and adds each four products into an int32 lane in one instruction (K256_DPBUSD(acc, u8, s8));
// - K256_ENTRY: the name of the one function it exports.
// interleaved_avx2.c is the AVX2 form; interleaved_avx_vnni.c the AVX-VNNI form (VEX-encoded, for
// CPUs with VNNI but not AVX-512: Intel's since Alder Lake, AMD's since Zen 5); and
// interleaved_avx_vnni_evex.c the same VNNI source for AVX512-VL + VNNI (EVEX-encoded), which
// dispatch never picks but which lets the tests check the VNNI form's arithmetic bit for bit on
// an AVX-512 CPU that lacks AVX-VNNI (as the development machines do; QEMU 7.2 does not emulate it).
//
// Both forms compute the same integers: every intermediate sum is exact (the AVX2 int16 sums fit,
// as each helper says), so the int32 block sums are equal, and the float operations on them are
// the same operations in the same order. Each kernel equals the readable reference bit for bit.
// This file has no include guard: it is meant to be included once per instantiation.
/// Four activation bytes broadcast to the eight row lanes.
K256_INLINE
static inline __m256i bcast4(const int8_t *q) {
    int32_t v;
    memcpy(&v, q, 4);
    return _mm256_set1_epi32(v);
}

/// Each row's fifth bits for piece c of a Q5_0_R8 group-block: byte k of row i's word becomes 16
/// when bit `first + k` of its qh is set (first = 4c for the low nibbles, 16 + 4c for the high).
K256_INLINE
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
K256_INLINE
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
#if K256_VNNI
        (void)ones;
        __m256i p = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            p = K256_DPBUSD(p, lo[c], bcast4(xt->q + 4 * c));
            p = K256_DPBUSD(p, hi[c], bcast4(xt->q + 16 + 4 * c));
        }
#else
        __m256i sl = _mm256_setzero_si256(), sh = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            sl = _mm256_add_epi16(sl, _mm256_maddubs_epi16(lo[c], bcast4(xt->q + 4 * c)));
            const __m256i h = _mm256_maddubs_epi16(hi[c], bcast4(xt->q + 16 + 4 * c));
            if (five) sh = _mm256_add_epi16(sh, h);
            else sl = _mm256_add_epi16(sl, h);
        }
        __m256i p = _mm256_madd_epi16(sl, ones);
        if (five) p = _mm256_add_epi32(p, _mm256_madd_epi16(sh, ones));
#endif
        p = _mm256_sub_epi32(p, _mm256_set1_epi32(offset * xt->sum));
        acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(xt->d)), _mm256_cvtepi32_ps(p), acc[t]);
    }
}

/// One Q8_0_R8 group-block (8 rows × 32 columns) times one block of m ≤ 4 inputs, as
/// q4_5_0_r8_block: signed × signed through maddubs with the weights' signs moved onto the
/// activations (|w| ≤ 127, so a pair sum fits int16), widened to int32 per piece.
K256_INLINE
static inline void q8_0_r8_block(const unsigned char *gb, const q8act_block *x, size_t xstride, const int m, __m256 *acc) {
    const __m256i ones = _mm256_set1_epi16(1);
    (void)ones;
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
#if K256_VNNI
            s = K256_DPBUSD(s, a[p], _mm256_sign_epi8(bcast4(xt->q + 4 * p), v[p]));
#else
            const __m256i prod = _mm256_maddubs_epi16(a[p], _mm256_sign_epi8(bcast4(xt->q + 4 * p), v[p]));
            s = _mm256_add_epi32(s, _mm256_madd_epi16(prod, ones));
#endif
        }
        acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(xt->d)), _mm256_cvtepi32_ps(s), acc[t]);
    }
}

/// The group-block product of a 32-column interleaved type (the type a constant after inlining).
K256_INLINE
static inline void r8_block(int type, const unsigned char *gb, const q8act_block *x, size_t xstride, const int m, __m256 *acc) {
    if (type == CK_TYPE_Q8_0_R8) q8_0_r8_block(gb, x, xstride, m, acc);
    else q4_5_0_r8_block(type, gb, x, xstride, m, acc);
}

/// Byte j (0…3) of each row's 32-bit word, as the int16 pair (v, v) (madd multiplier).
K256_INLINE
static inline __m256i byte_pairs(__m256i words, int j) {
    const char a = (char)j, b = (char)(4 + j), c = (char)(8 + j), d = (char)(12 + j), z = (char)0x80;
    const __m128i ctl = _mm_setr_epi8(a, z, a, z, b, z, b, z, c, z, c, z, d, z, d, z);
    return _mm256_shuffle_epi8(words, _mm256_set_m128i(ctl, ctl));
}

/// Byte j of each row's 32-bit word, as the int16 pair (v, 0).
K256_INLINE
static inline __m256i byte_low(__m256i words, int j) {
    const char a = (char)j, b = (char)(4 + j), c = (char)(8 + j), d = (char)(12 + j), z = (char)0x80;
    const __m128i ctl = _mm_setr_epi8(a, z, z, z, b, z, z, z, c, z, z, z, d, z, z, z);
    return _mm256_shuffle_epi8(words, _mm256_set_m128i(ctl, ctl));
}

/// One Q4_K_R8 group-superblock (8 rows × 256 columns) times the 8 blocks of m ≤ 2 inputs (input t's
/// at x + t·xstride): each piece of weights unpacked once for all of them, every input's operations
/// in the order of a single input. The 6-bit scales and mins of the eight rows are unpacked
/// together with 32-bit lane operations.
K256_INLINE
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
#if K256_VNNI
                s_lo[t] = K256_DPBUSD(s_lo[t], lo, bcast4(x_lo[0].q + 4 * k));
                s_hi[t] = K256_DPBUSD(s_hi[t], hi, bcast4(x_lo[1].q + 4 * k));
#else
                s_lo[t] = _mm256_add_epi16(s_lo[t], _mm256_maddubs_epi16(lo, bcast4(x_lo[0].q + 4 * k)));
                s_hi[t] = _mm256_add_epi16(s_hi[t], _mm256_maddubs_epi16(hi, bcast4(x_lo[1].q + 4 * k)));
#endif
            }
        }
#pragma clang loop unroll(full)
        for (int h = 0; h < 2; h++) {
            const int j = 2 * c + h;
#if K256_VNNI
            // The int32 sums times each row's scale (the same integer as madd's int16 halves).
            const __m256i scales = byte_low(j < 4 ? sc_lo : sc_hi, j % 4);
#else
            const __m256i scales = byte_pairs(j < 4 ? sc_lo : sc_hi, j % 4);
#endif
            const __m256 mins = _mm256_cvtepi32_ps(byte_low(j < 4 ? m_lo : m_hi, j % 4));
            for (int t = 0; t < m; t++) {
                const q8act_block *xb = x + t * xstride + j;
#if K256_VNNI
                const __m256i p = _mm256_mullo_epi32(h ? s_hi[t] : s_lo[t], scales);
#else
                const __m256i p = _mm256_madd_epi16(h ? s_hi[t] : s_lo[t], scales);
#endif
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
K256_INLINE
static inline void q6_k_r8_superblock(const unsigned char *gb, const q8act_block *x, size_t xstride, const int m, __m256 *acc) {
    const __m256i mask = _mm256_set1_epi8(0x0F), top = _mm256_set1_epi8(0x30), ones = _mm256_set1_epi16(1);
    (void)ones;
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
#if K256_VNNI
                    s[t][0][j / 4] = K256_DPBUSD(s[t][0][j / 4], v_lo[0], bcast4(xk[g_lo].q + 4 * j));
                    s[t][0][j / 4] = K256_DPBUSD(s[t][0][j / 4], v_lo[1], bcast4(xk[g_lo].q + 4 * j + 4));
                    s[t][1][j / 4] = K256_DPBUSD(s[t][1][j / 4], v_hi[0], bcast4(xk[g_hi].q + 4 * j));
                    s[t][1][j / 4] = K256_DPBUSD(s[t][1][j / 4], v_hi[1], bcast4(xk[g_hi].q + 4 * j + 4));
#else
                    const __m256i lo = _mm256_add_epi16(_mm256_maddubs_epi16(v_lo[0], bcast4(xk[g_lo].q + 4 * j)),
                                                        _mm256_maddubs_epi16(v_lo[1], bcast4(xk[g_lo].q + 4 * j + 4)));
                    const __m256i hi = _mm256_add_epi16(_mm256_maddubs_epi16(v_hi[0], bcast4(xk[g_hi].q + 4 * j)),
                                                        _mm256_maddubs_epi16(v_hi[1], bcast4(xk[g_hi].q + 4 * j + 4)));
                    s[t][0][j / 4] = _mm256_add_epi32(s[t][0][j / 4], _mm256_madd_epi16(lo, ones));
                    s[t][1][j / 4] = _mm256_add_epi32(s[t][1][j / 4], _mm256_madd_epi16(hi, ones));
#endif
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
K256_INLINE
static inline void matmul_r8_32(int type, const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x,
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
K256_FN
static void matmul_q4_0_r8(const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x, size_t n, float *y, size_t ldy) {
    matmul_r8_32(CK_TYPE_Q4_0_R8, w, blocks, g0, g1, x, n, y, ldy);
}

K256_FN
static void matmul_q5_0_r8(const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x, size_t n, float *y, size_t ldy) {
    matmul_r8_32(CK_TYPE_Q5_0_R8, w, blocks, g0, g1, x, n, y, ldy);
}

K256_FN
static void matmul_q8_0_r8(const unsigned char *w, size_t blocks, size_t g0, size_t g1, const q8act_block *x, size_t n, float *y, size_t ldy) {
    matmul_r8_32(CK_TYPE_Q8_0_R8, w, blocks, g0, g1, x, n, y, ldy);
}

/// Groups [g0, g1) of a 256-column interleaved type (Q4_K_R8, Q6_K_R8): one input of more than
/// CK_SINGLE_STREAM_MAX_COLS columns, the four quarters of the range together (as matmul_r8_32);
/// one input of fewer, the groups in order (one stream); several, each group-superblock unpacked
/// once for two inputs.
K256_INLINE
static inline void matmul_r8_256(int type, const unsigned char *w, size_t superblocks, size_t g0, size_t g1, const q8act_block *x,
                                      size_t n, float *y, size_t ldy) {
    const size_t sbytes = 8 * ck_block_bytes(type), gbytes = superblocks * sbytes, blocks = superblocks * 8;
#define SUPERBLOCK(gb, xs, stride, M, acc, corr) \
    (type == CK_TYPE_Q6_K_R8 ? q6_k_r8_superblock(gb, xs, stride, M, acc) : q4_k_r8_superblock(gb, xs, stride, M, acc, corr))
    size_t first = g0;
    if (n == 1 && superblocks * 256 > CK_SINGLE_STREAM_MAX_COLS) {
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

K256_FN
static void matmul_q4_k_r8(const unsigned char *w, size_t superblocks, size_t g0, size_t g1, const q8act_block *x, size_t n,
                                float *y, size_t ldy) {
    matmul_r8_256(CK_TYPE_Q4_K_R8, w, superblocks, g0, g1, x, n, y, ldy);
}

K256_FN
static void matmul_q6_k_r8(const unsigned char *w, size_t superblocks, size_t g0, size_t g1, const q8act_block *x, size_t n,
                                float *y, size_t ldy) {
    matmul_r8_256(CK_TYPE_Q6_K_R8, w, superblocks, g0, g1, x, n, y, ldy);
}

/// Groups [g0, g1) of a `type` matrix (a row-interleaved type) of `cols` columns times the n
/// inputs of xq.
void K256_ENTRY(int type, const void *w, size_t cols, size_t g0, size_t g1, const void *xq, size_t n, float *y, size_t ldy) {
    const unsigned char *wb = (const unsigned char *)w;
    const q8act_block *x = (const q8act_block *)xq;
    switch (type) {
    case CK_TYPE_Q4_0_R8: matmul_q4_0_r8(wb, cols / 32, g0, g1, x, n, y, ldy); break;
    case CK_TYPE_Q8_0_R8: matmul_q8_0_r8(wb, cols / 32, g0, g1, x, n, y, ldy); break;
    case CK_TYPE_Q5_0_R8: matmul_q5_0_r8(wb, cols / 32, g0, g1, x, n, y, ldy); break;
    case CK_TYPE_Q6_K_R8: matmul_q6_k_r8(wb, cols / 256, g0, g1, x, n, y, ldy); break;
    default: matmul_q4_k_r8(wb, cols / 256, g0, g1, x, n, y, ldy); break;
    }
}
