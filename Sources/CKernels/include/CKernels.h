// hasskit's own C kernels. Every entry point picks the best implementation for the running CPU
// (AVX-512 / AVX2+F16C / generic) on first use; the `_generic` variants are exported so tests can
// compare the fast path with the portable one, and both with the Swift reference implementations.
#ifndef HASSKIT_CKERNELS_H
#define HASSKIT_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The quantized blocks, byte for byte ggml's (ggml-common.h). Defined once, here: the kernels
/// index rows with sizeof, and Swift's QuantType.bytesPerBlock is tested against ck_block_bytes.
/// Scales are IEEE binary16 stored as their bits.
typedef struct {
    uint16_t d;
    int8_t qs[32];
} ck_block_q8_0;
typedef struct {
    uint16_t d;
    uint8_t qs[16];  // 32 nibbles, value − 8
} ck_block_q4_0;
typedef struct {
    uint16_t d;
    uint8_t qh[4];   // bit i: the fifth bit of value i
    uint8_t qs[16];  // low 4 bits: values 0–15 in the low nibbles, 16–31 in the high; value − 16
} ck_block_q5_0;
typedef struct {
    uint16_t d, m;   // value = d × q + m
    uint8_t qh[4];   // as Q5_0
    uint8_t qs[16];  // as Q5_0, unsigned (0…31)
} ck_block_q5_1;
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[12];  // 8 six-bit scales and 8 six-bit minimums, packed
    uint8_t qs[128];     // 256 nibbles
} ck_block_q4_k;
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[12];  // as Q4_K
    uint8_t qh[32];      // fifth bits: bit 2c of qh[l] for value l of sub-block 2c, 2c + 1 for 2c + 1
    uint8_t qs[128];     // low four bits, as Q4_K's nibbles
} ck_block_q5_k;
typedef struct {
    uint8_t ql[128];    // low 4 bits of 256 six-bit values
    uint8_t qh[64];     // their high 2 bits
    int8_t scales[16];  // one per 16 values
    uint16_t d;
} ck_block_q6_k;
_Static_assert(sizeof(ck_block_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(ck_block_q4_0) == 18, "Q4_0 block is 18 bytes");
_Static_assert(sizeof(ck_block_q5_0) == 22, "Q5_0 block is 22 bytes");
_Static_assert(sizeof(ck_block_q5_1) == 24, "Q5_1 block is 24 bytes");
_Static_assert(sizeof(ck_block_q5_k) == 176, "Q5_K super-block is 176 bytes");
_Static_assert(sizeof(ck_block_q4_k) == 144, "Q4_K super-block is 144 bytes");
_Static_assert(sizeof(ck_block_q6_k) == 210, "Q6_K super-block is 210 bytes");

/// Bytes of one block (a super-block for the K-quants; the base type's block for the
/// row-interleaved types; one element for element types); 0 for an unknown type.
size_t ck_block_bytes(int type);

/// Bit flags describing what the running CPU supports (for reports and tests).
enum {
    CK_CPU_AVX2 = 1u << 0,
    CK_CPU_F16C = 1u << 1,
    CK_CPU_FMA = 1u << 2,
    CK_CPU_AVX512F = 1u << 3,
    CK_CPU_AVX512BW = 1u << 4,
    CK_CPU_AVX512VL = 1u << 5,
    CK_CPU_AVX512VNNI = 1u << 6,
    /// AVX-VNNI: the VEX-encoded 256-bit vpdpbusd (`avx_vnni` in /proc/cpuinfo).
    CK_CPU_AVXVNNI = 1u << 7,
};
/// The features the kernels dispatch on: those detected, or none when the environment has
/// HASSKIT_KERNELS=reference (read once), so that every kernel takes its portable path, or
/// those without AVX-512 and AVX-VNNI under HASSKIT_KERNELS=avx2 (to benchmark the paths side
/// by side).
unsigned ck_cpu_features(void);
/// The features the running CPU has, whatever HASSKIT_KERNELS says (for reports).
unsigned ck_cpu_features_detected(void);

/// IEEE binary16 -> binary32, exact.
void ck_f16_to_f32(const uint16_t *src, float *dst, size_t n);
void ck_f16_to_f32_generic(const uint16_t *src, float *dst, size_t n);

/// bfloat16 -> binary32, exact (bits << 16).
void ck_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
void ck_bf16_to_f32_generic(const uint16_t *src, float *dst, size_t n);

/// binary32 -> bfloat16, round to nearest even; NaN -> 0x7FC0 as PyTorch does.
void ck_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
void ck_f32_to_bf16_generic(const float *src, uint16_t *dst, size_t n);

/// binary32 -> binary16, round to nearest even (overflow to infinity, NaN stays NaN).
void ck_f32_to_f16(const float *src, uint16_t *dst, size_t n);
void ck_f32_to_f16_generic(const float *src, uint16_t *dst, size_t n);

/// float8 E4M3FN -> binary32 through a 256-entry table (exact; 0x7F/0xFF decode to NaN).
void ck_f8e4m3_to_f32(const uint8_t *src, float *dst, size_t n);

/// values[i·cols + j] ×= scales[(i / block)·ceil(cols / block) + j / block] for a rows × cols
/// matrix: DeepSeek's block-scaled FP8 dequantization (partial blocks at the edges).
void ck_apply_block_scales(float *values, size_t rows, size_t cols, const float *scales, size_t block);

/// binary32 -> float8 E4M3FN, round to nearest even after saturating to ±448 (DeepSeek's block
/// quantizer clamps first); NaN -> 0x7F.
uint8_t ck_float_to_f8e4m3_scalar(float f);
void ck_f32_to_f8e4m3(const float *src, uint8_t *dst, size_t n);

/// Scalar conversions used by the block quantizers (RNE, as above).
float ck_half_to_float_scalar(uint16_t h);
uint16_t ck_float_to_half_scalar(float f);

/// ggml-compatible block quantization. `n` is a multiple of the block size (32 for Q8_0/Q4_0);
/// `dst` receives n/32 blocks (34 bytes each for Q8_0, 18 for Q4_0). The results are bit-identical
/// to ggml's reference quantizers (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`) and to the
/// `gguf` Python package: Q8_0 rounds half away from zero, Q4_0 truncates x/d + 8.5.
void ck_quantize_q8_0(const float *src, void *dst, size_t n);
void ck_quantize_q8_0_generic(const float *src, void *dst, size_t n);
void ck_dequantize_q8_0(const void *src, float *dst, size_t n);
void ck_quantize_q4_0(const float *src, void *dst, size_t n);
void ck_quantize_q4_0_generic(const float *src, void *dst, size_t n);
void ck_dequantize_q4_0(const void *src, float *dst, size_t n);
/// Q5_0 (22-byte blocks of 32): ggml's `quantize_row_q5_0_ref`, the scale set by the signed value
/// of largest magnitude (d = max / −16), each value truncating x/d + 16.5, capped at 31.
void ck_quantize_q5_0(const float *src, void *dst, size_t n);
void ck_dequantize_q5_0(const void *src, float *dst, size_t n);
/// Q5_1 (24-byte blocks of 32): ggml's `quantize_row_q5_1_ref`, d = (max − min) / 31, m = min,
/// each value truncating (x − min)/d + 0.5.
void ck_quantize_q5_1(const float *src, void *dst, size_t n);
void ck_dequantize_q5_1(const void *src, float *dst, size_t n);

/// Index of the first NaN or infinity in `src`, or `n` when all values are finite.
size_t ck_first_nonfinite(const float *src, size_t n);

/// Adds Σ(approx−exact)² to *sse and Σexact² to *ssx (for relative RMS errors).
void ck_error_sums(const float *approx, const float *exact, size_t n, double *sse, double *ssx);

/// K-quants: 256 values per super-block (144 bytes for Q4_K, 176 for Q5_K, 210 for Q6_K); `n` is a multiple of
/// 256. The quantizers follow ggml's reference scale search (see quant_kquants.c).
void ck_quantize_q4_k(const float *src, void *dst, size_t n);
void ck_dequantize_q4_k(const void *src, float *dst, size_t n);
void ck_quantize_q5_k(const float *src, void *dst, size_t n);
void ck_dequantize_q5_k(const void *src, float *dst, size_t n);
void ck_quantize_q6_k(const float *src, void *dst, size_t n);
void ck_dequantize_q6_k(const void *src, float *dst, size_t n);

/// Storage types understood by the row kernels (same meaning as QuantType in Swift).
enum {
    CK_TYPE_F32 = 0, CK_TYPE_F16 = 1, CK_TYPE_BF16 = 2, CK_TYPE_Q8_0 = 3, CK_TYPE_Q4_0 = 4,
    CK_TYPE_Q4_K = 5, CK_TYPE_Q6_K = 6, CK_TYPE_Q4_0_R8 = 7, CK_TYPE_Q4_K_R8 = 8,
    CK_TYPE_Q8_0_R8 = 9, CK_TYPE_Q5_0 = 10, CK_TYPE_Q5_1 = 11, CK_TYPE_Q5_K = 12, CK_TYPE_Q5_0_R8 = 13,
    CK_TYPE_Q6_K_R8 = 14,
};

/// Row-interleaved types (Q8_0_R8, Q4_0_R8, Q4_K_R8; see interleaved.c and docs/FORMAT.md) hold the
/// blocks of their base type (Q8_0, Q4_0, Q4_K), eight rows stored together block by block. A row is then not
/// contiguous: decode rows with ck_dequantize_rows. The base type of any other type is itself.
int ck_base_type(int type);

/// Rows stored together: 8 for the interleaved types, 1 for the others.
size_t ck_interleaved_rows(int type);

/// Writes `rows` (a multiple of 8) rows of the base type of the interleaved `type`, stored one
/// after another in `src`, into the interleaved layout (the same number of bytes).
void ck_interleave_rows(int type, const void *src, size_t rows, size_t cols, void *dst);

/// Copies rows `rows[0..n)` of a matrix of any type into `dst`, one after another in its base
/// type's plain layout (an interleaved type's rows gathered out of their groups): the blocks
/// byte for byte.
void ck_gather_rows(int type, const void *w, size_t cols, const size_t *rows, size_t n, void *dst);

/// Decodes rows [row_begin, row_end) of a matrix of any type into dst (row-major, cols each).
void ck_dequantize_rows(int type, const void *w, size_t cols, size_t row_begin, size_t row_end, float *dst);

/// Bytes of one row of `cols` values stored as `type` (0 for an unknown type); for the interleaved
/// types, a row's share of its group.
size_t ck_row_bytes(int type, size_t cols);

/// Decodes one row of `cols` values of `type` (not an interleaved type) into dst.
void ck_dequantize_row(int type, const void *src, float *dst, size_t cols);

/// y[r] = dot(row r of W, x) for rows [row_begin, row_end) of a row-major matrix stored as
/// `type` with `cols` columns. `scratch` holds at least `cols` floats.
void ck_matvec_rows(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                    const float *x, float *y, float *scratch);

/// Y[i * ldy + r] = dot(row r of W, X[i]) for rows [row_begin, row_end) and the n inputs of X
/// (row-major n × cols), when a fused small-batch kernel exists for `type` on this CPU (then
/// returns 1, results bit-identical to ck_matvec_rows); returns 0 and writes nothing otherwise.
int ck_matmul_rows_fused(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                         const float *x, size_t n, float *y, size_t ldy);

/// The readable path of ck_matvec_rows: decode each row into `scratch` (cols floats), then dot.
void ck_matvec_rows_reference(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                              const float *x, float *y, float *scratch);


/// Bytes of `cols` activations quantized to 8 bits (blocks of 32: an f32 scale, 32 int8).
size_t ck_q8act_bytes(size_t cols);

/// Quantizes `cols` activations (a multiple of 32) to 8 bits: per block of 32, scale = max|x|/127,
/// q = round(x / scale), as llama.cpp's Q8_0 activations (but with an f32 scale).
void ck_quantize_q8act(const float *x, size_t cols, void *dst);
/// Its readable version (the same bytes).
void ck_quantize_q8act_reference(const float *x, size_t cols, void *dst);

/// Y[i * ldy + r] = dot(row r of W, X[i]) for rows [row_begin, row_end) of a Q8_0, Q4_0, Q4_K,
/// Q6_K or row-interleaved matrix
/// and the n inputs of xq (each ck_q8act_bytes(cols) bytes): integer block sums scaled once per
/// block. Bit-identical whatever n, and to ck_matmul_rows_q8act_reference. Returns 0 (writing
/// nothing) for other types or when cols is not a multiple of 32 (256 for the K types).
int ck_matmul_rows_q8act(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                         const void *xq, size_t n, float *y, size_t ldy);

/// Whether ck_matmul_rows_q8act takes a `type` matrix of `cols` columns (Q8_0, Q4_0 and their
/// interleaved forms with cols a multiple of 32; Q4_K, Q6_K and Q4_K_R8 with a multiple of 256).
int ck_q8act_supports(int type, size_t cols);

/// The implementations of the 8-bit-activation products: the readable reference, AVX2 (with FMA
/// and F16C), AVX-512 with VNNI (F, BW, VL, VNNI; the row-interleaved types and Q6_K), and
/// AVX-VNNI (256-bit VNNI without AVX-512; the row-interleaved types). CK_PATH_AVX_VNNI_EVEX is the
/// AVX-VNNI kernels' source compiled for AVX512-VL + VNNI: never dispatched, it is there so that
/// tests on an AVX-512 CPU check the AVX-VNNI kernels' arithmetic.
enum { CK_PATH_REFERENCE = 1, CK_PATH_AVX2 = 2, CK_PATH_AVX512_VNNI = 3, CK_PATH_AVX_VNNI = 4, CK_PATH_AVX_VNNI_EVEX = 5 };

/// The path ck_matmul_rows_q8act takes for `type` in this process: the fastest this CPU has
/// for it, or the reference under HASSKIT_KERNELS=reference.
int ck_q8act_path(int type);

/// Columns up to which the 256-bit kernels read a 256-column interleaved matrix (Q4_K_R8, Q6_K_R8)
/// for a single input one group after the other, one sequential stream per thread, rather than
/// the four quarters of their range at once. Every group reads the input's activation blocks (116
/// bytes per 32 columns): at 2048 columns they are 7.4 KiB and stay in the core's 32 KiB L1
/// between groups; at 5632 they are 20 KiB, a group's own weights (25 KiB) push them out, and
/// only four groups read together keep them near. Measured on an AMD EPYC (Zen 4) on the 1.1 B
/// Q4_K_M shape, the two ways alternating token by token in one process: decoding 1.02-1.07x
/// faster with single streams on two threads, 1.00-1.27x on one (most when the host slowed the
/// four-stream reads down), and the AVX2 form 1.10-1.12x (alternating runs); one stream read a
/// 5632-column matrix at 0.67-0.71x of four on one thread (each way streaming 300 MB of copies
/// of the matrix, alternating).
#define CK_SINGLE_STREAM_MAX_COLS 2048

/// The path for n inputs of `type` (`cols` columns) when `threads` threads stream the model's
/// matrices at once: ck_q8act_path, except that on an AVX-512 machine a single input of Q4_K_R8 or
/// Q6_K_R8 takes the 256-bit VNNI kernels (CK_PATH_AVX_VNNI_EVEX) on one thread, and on any number
/// of threads up to CK_SINGLE_STREAM_MAX_COLS columns, which those kernels read as one stream.
/// Streamed from memory by one core the 256-bit kernels read a K-quant matrix faster than the
/// 512-bit ones (Scripts/bench-kernel-paths.c with MB, 5632 x 2048: 25.6-28.8 against 21.9-23.7
/// GB/s for Q4_K_R8 over two days), while with both cores streaming, in four streams each, they
/// decoded 0.91-0.96x. Every path equals the reference bit for bit, so the choice never changes a
/// result.
int ck_q8act_path_for(int type, size_t cols, size_t n, size_t threads);

/// The rate, in int8 multiply-adds per second on the calling thread, of the instruction the
/// path of `type`'s 8-bit products (ck_q8act_path) multiplies blocks with (AVX-512 VNNI: a
/// 512-bit vpdpbusd, 64 multiply-adds; AVX-VNNI: a 256-bit one, 32; AVX2: maddubs then madd,
/// 32), twelve independent accumulators so that neither latency nor memory limits it, timed over
/// about `seconds`: the arithmetic roof of those products (`hasskit bench`'s prefill bound).
/// 0 for a type without 8-bit products, or on the reference path.
double ck_q8act_peak_rate(int type, double seconds);

/// ck_matmul_rows_q8act on the named path (tests compare every path a CPU has with the
/// reference); returns 0, writing nothing, when the CPU or the type lacks that path.
int ck_matmul_rows_q8act_path(int path, int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                              const void *xq, size_t n, float *y, size_t ldy);


/// The readable version of ck_matmul_rows_q8act (same results, bit for bit).
void ck_matmul_rows_q8act_reference(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                                    const void *xq, size_t n, float *y, size_t ldy);

/// Attention of one query (heads × head_dim) over `count` cached positions: the slots listed in
/// `slots`, or 0…count−1 when it is NULL. Position p's keys start at keys + p·key_stride (values
/// likewise), query head h uses key/value head h / (heads / kv_heads). Scores are scaled by
/// `scale` and softmaxed; `scores` holds `count` floats of scratch; out receives heads × head_dim.
void ck_attention(const float *q, const float *keys, const float *values, size_t key_stride, size_t value_stride,
                  const ptrdiff_t *slots, size_t count, size_t heads, size_t kv_heads, size_t head_dim, float scale,
                  float *out, float *scores);

/// exp(x) as the attention and SwiGLU kernels compute it (a polynomial after range reduction, within
/// 2 ulp of expf for −87.3 ≤ x ≤ 88; 0 below −87.3 and for NaN, exp(88) above), so that the
/// portable and AVX2 paths agree bit for bit.
float ck_expf(float x);

/// out[i] = silu(g[i]) · u[i] = g[i] / (1 + exp(−g[i])) · u[i] for i < n, exp as ck_expf (AVX2 where
/// the CPU has it; the same bits as ck_swiglu_reference). out may be g or u.
void ck_swiglu(const float *g, const float *u, float *out, size_t n);
void ck_swiglu_reference(const float *g, const float *u, float *out, size_t n);

/// RMSNorm of the n rows of x (each `width` floats) into out: out = w · (x / sqrt(mean(x²) + eps)),
/// the sum of squares in eight lanes as ck_dot8 (kernels_internal.h) sums.
void ck_rms_norm_rows(const float *x, const float *w, float *out, size_t n, size_t width, float eps);

/// Attention of `nq` consecutive causal queries: query t (at q + t·q_stride, heads × head_dim)
/// over positions 0 … count0 + t − 1, output at out + t·out_stride; keys and values as in
/// ck_attention. `scores` holds nq × (count0 + nq − 1) floats of scratch. Each query gets the bits
/// ck_attention gives it over the same slots.
void ck_attention_causal(const float *q, size_t q_stride, size_t nq, size_t count0, const float *keys, const float *values,
                         size_t key_stride, size_t value_stride, size_t heads, size_t kv_heads, size_t head_dim, float scale,
                         float *out, size_t out_stride, float *scores);

/// The readable path of ck_attention_causal (what it computes on a CPU without AVX2), the
/// reference its AVX2 path equals bit for bit.
void ck_attention_causal_reference(const float *q, size_t q_stride, size_t nq, size_t count0, const float *keys,
                                   const float *values, size_t key_stride, size_t value_stride, size_t heads, size_t kv_heads,
                                   size_t head_dim, float scale, float *out, size_t out_stride, float *scores);

/// Sum of the bytes viewed as little-endian 64-bit words (plus a tail), used to force every byte
/// of a mapped region to be read in I/O benchmarks without the compiler eliding the loads.
uint64_t ck_touch_bytes(const void *src, size_t n);

/// The same over `streams` ranges of `n` bytes, `stride` bytes apart, read 32 bytes from each in
/// turn (the access pattern of kernels that walk several rows at once).
uint64_t ck_touch_streams(const void *src, size_t stride, size_t streams, size_t n);

#ifdef __cplusplus
}
#endif
#endif
