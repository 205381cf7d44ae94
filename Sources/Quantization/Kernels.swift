internal import CKernels

/// The C kernels (CKernels) as the rest of the package calls them: this module is their one owner,
/// so no other module imports C for arithmetic, and the C numbering of types never leaves it.
///
/// Every function here is a thin call of its C kernel (one call covers a range of rows, so the
/// cost of the call is nothing next to the work). The pointers are raw memory the caller owns:
/// `w` a matrix of `type` with `cols` columns, `x`/`y` row-major f32 arrays.
public enum Kernels {
    // MARK: Element conversions (PyTorch's rounding, bit for bit)

    public static func f16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        ck_f16_to_f32(src, dst, count)
    }

    public static func bf16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        ck_bf16_to_f32(src, dst, count)
    }

    public static func f32ToBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        ck_f32_to_bf16(src, dst, count)
    }

    public static func f32ToF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        ck_f32_to_f16(src, dst, count)
    }

    public static func f8e4m3ToF32(_ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        ck_f8e4m3_to_f32(src, dst, count)
    }

    /// f32 → float8 E4M3FN, round to nearest even after clamping to ±448.
    public static func f8e4m3(_ value: Float) -> UInt8 { ck_float_to_f8e4m3_scalar(value) }

    /// values[r, c] *= scales[r / block, c / block] for a rows × cols matrix (DeepSeek's FP8 scales).
    public static func applyBlockScales(_ values: inout [Float], rows: Int, cols: Int, scales: [Float], block: Int) {
        ck_apply_block_scales(&values, rows, cols, scales, block)
    }

    // MARK: Measures

    /// The index of the first value that is not finite, or `values.count`.
    public static func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int {
        ck_first_nonfinite(values.baseAddress, values.count)
    }

    /// Σ(approx − exact)² and Σ exact², in double precision.
    public static func errorSums(approx: [Float], exact: [Float]) -> (sse: Double, ssx: Double) {
        precondition(approx.count == exact.count)
        var sse = 0.0, ssx = 0.0
        ck_error_sums(approx, exact, exact.count, &sse, &ssx)
        return (sse, ssx)
    }

    /// Reads `count` bytes (a word sum the compiler cannot elide): I/O and bandwidth benchmarks.
    public static func touch(_ src: UnsafeRawPointer?, count: Int) -> UInt64 { ck_touch_bytes(src, count) }

    /// The same over `streams` ranges of `count` bytes, `stride` apart, 32 bytes from each in turn.
    public static func touch(_ src: UnsafeRawPointer?, stride: Int, streams: Int, count: Int) -> UInt64 {
        ck_touch_streams(src, stride, streams, count)
    }

    // MARK: Matrix rows

    /// Decodes one row (not of an interleaved type) into `dst` (`cols` floats).
    public static func dequantizeRow(
        _ type: QuantType, _ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, cols: Int
    ) {
        ck_dequantize_row(type.kernel, src, dst, cols)
    }

    /// Decodes rows [begin, end) of any type into `dst` (row-major).
    public static func dequantizeRows(
        _ type: QuantType, _ w: UnsafeRawPointer, cols: Int, rows: Range<Int>, into dst: UnsafeMutablePointer<Float>
    ) {
        ck_dequantize_rows(type.kernel, w, cols, rows.lowerBound, rows.upperBound, dst)
    }

    /// y[r] = dot(row r of W, x) for r in `rows`; `scratch` holds at least `cols` floats.
    public static func matvec(
        _ type: QuantType, _ w: UnsafeRawPointer, cols: Int, rows: Range<Int>, x: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        ck_matvec_rows(type.kernel, w, cols, rows.lowerBound, rows.upperBound, x, y, scratch)
    }

    /// Y[i·ldy + r] = dot(row r of W, X[i]) for the n inputs of X when a fused small-batch kernel
    /// exists for `type` on this CPU (bit-identical to `matvec`); false, writing nothing, otherwise.
    public static func matmulFused(
        _ type: QuantType, _ w: UnsafeRawPointer, cols: Int, rows: Range<Int>, x: UnsafePointer<Float>, n: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int
    ) -> Bool {
        ck_matmul_rows_fused(type.kernel, w, cols, rows.lowerBound, rows.upperBound, x, n, y, ldy) != 0
    }

    // MARK: 8-bit activations (llama.cpp's scheme, f32 block scales)

    /// Bytes of `cols` activations quantized to 8 bits.
    public static func q8ActivationBytes(cols: Int) -> Int { ck_q8act_bytes(cols) }

    /// Quantizes `cols` activations (a multiple of 32) into `dst`.
    public static func quantizeActivations(_ x: UnsafePointer<Float>, cols: Int, into dst: UnsafeMutableRawPointer) {
        ck_quantize_q8act(x, cols, dst)
    }

    /// Whether `matmulQ8` takes a `type` matrix of `cols` columns.
    /// Rows `rows` of a `type` matrix, their blocks byte for byte in the base type's plain layout.
    public static func gatherRows(_ type: QuantType, _ w: UnsafeRawPointer, cols: Int, rows: [Int]) -> [UInt8] {
        let plain = type.interleavedBase ?? type
        let stride = plain.byteCount(shape: [1, cols]).map(Int.init) ?? 0
        var out = [UInt8](repeating: 0, count: stride * rows.count)
        let indices = rows.map { size_t($0) }
        indices.withUnsafeBufferPointer { r in
            out.withUnsafeMutableBytes { o in
                ck_gather_rows(type.kernel, w, cols, r.baseAddress, rows.count, o.baseAddress)
            }
        }
        return out
    }

    public static func takesQ8Activations(_ type: QuantType, cols: Int) -> Bool {
        type.kernelType.map { ck_q8act_supports($0, cols) != 0 } ?? false
    }

    /// The implementation of a `type` product (`ck_q8act_path_for`'s code).
    public struct Q8Path: Sendable, Equatable {
        let code: Int32

        /// "avx512-vnni", "avx-vnni", "avx-vnni (evex)" (the AVX-VNNI kernels in the AVX512-VL
        /// encoding), "avx2" or "reference".
        public var name: String {
            switch Int(code) {
            case Int(CK_PATH_AVX512_VNNI): return "avx512-vnni"
            case Int(CK_PATH_AVX_VNNI): return "avx-vnni"
            case Int(CK_PATH_AVX_VNNI_EVEX): return "avx-vnni (evex)"
            case Int(CK_PATH_AVX2): return "avx2"
            default: return "reference"
            }
        }
    }

    /// The implementation for a product of `inputs` inputs of a `cols`-column matrix while
    /// `threads` threads read the model's matrices at once: the CPU's fastest, except that a
    /// K-quant's single input takes the 256-bit kernels on an AVX-512 machine on one thread, and on
    /// any number where it has at most 2048 columns (see `ck_q8act_path_for`). Every implementation
    /// gives the same bits.
    public static func q8Path(_ type: QuantType, cols: Int, inputs: Int, threads: Int) -> Q8Path {
        Q8Path(
            code: type.kernelType.map { ck_q8act_path_for($0, cols, inputs, threads) } ?? Int32(CK_PATH_REFERENCE))
    }

    /// Y[i·ldy + r] = dot(row r of W, Xq[i]) for the n quantized inputs of `xq` on `path`: integer
    /// block sums, bit-identical whatever n and path. False, writing nothing, when the type does
    /// not take them.
    public static func matmulQ8(
        _ type: QuantType, _ w: UnsafeRawPointer, cols: Int, rows: Range<Int>, xq: UnsafeRawPointer, n: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int, path: Q8Path
    ) -> Bool {
        ck_matmul_rows_q8act_path(path.code, type.kernel, w, cols, rows.lowerBound, rows.upperBound, xq, n, y, ldy) != 0
    }

    // MARK: Attention

    /// Attention of one query (heads × headDim) over the cached positions `slots` (0..<count when
    /// nil): position p's keys at keys + p·keyStride, values likewise; query head h reads key/value
    /// head h / (heads / kvHeads); scores scaled by `scale` and softmaxed; `scores` is scratch of
    /// `count` floats; `out` receives heads × headDim.
    public static func attention(
        q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, keyStride: Int,
        valueStride: Int, slots: UnsafePointer<Int>?, count: Int, heads: Int, kvHeads: Int, headDim: Int,
        scale: Float, out: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>
    ) {
        ck_attention(
            q, keys, values, keyStride, valueStride, slots, count, heads, kvHeads, headDim, scale, out, scores)
    }
}

extension Kernels {
    // MARK: Element-wise steps

    /// silu(g) ⊙ u into `out` (`count` floats; it may be g or u), exp as the attention kernels'.
    public static func swiGLU(
        _ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        ck_swiglu(g, u, out, count)
    }

    /// The readable form of `swiGLU` (the same bits).
    public static func swiGLUReference(
        _ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        ck_swiglu_reference(g, u, out, count)
    }

    /// RMSNorm of the n rows of `x` (`width` floats each) into `out`: w · x / sqrt(mean(x²) + eps).
    public static func rmsNormRows(
        _ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, n: Int,
        width: Int, eps: Float
    ) {
        ck_rms_norm_rows(x, w, out, n, width, eps)
    }
}

extension Kernels {
    /// Attention of `queries` consecutive causal queries: query t (at q + t·qStride) over
    /// positions 0 ..< firstCount + t, output at out + t·outStride; `scores` is scratch of
    /// queries × (firstCount + queries − 1) floats. Each query gets the bits `attention` gives it
    /// over the same slots.
    public static func attentionCausal(
        q: UnsafePointer<Float>, qStride: Int, queries: Int, firstCount: Int, keys: UnsafePointer<Float>,
        values: UnsafePointer<Float>, keyStride: Int, valueStride: Int, heads: Int, kvHeads: Int, headDim: Int,
        scale: Float, out: UnsafeMutablePointer<Float>, outStride: Int, scores: UnsafeMutablePointer<Float>
    ) {
        ck_attention_causal(
            q, qStride, queries, firstCount, keys, values, keyStride, valueStride, heads, kvHeads, headDim, scale,
            out, outStride, scores)
    }
}

extension Kernels {
    /// The implementation the 8-bit-activation products of `type` take in this process:
    /// "avx512-vnni", "avx-vnni", "avx2" or "reference" (the CPU's extensions, within
    /// HASSKIT_KERNELS).
    public static func path(for type: QuantType) -> String {
        type.kernelType.map { Q8Path(code: ck_q8act_path($0)).name } ?? "reference"
    }

    /// Int8 multiply-adds per second the calling thread retires through the product instruction
    /// of the path `type`'s 8-bit products take (timed over about `seconds`); nil where that path
    /// has none (the reference, or a type without 8-bit products).
    public static func int8PeakRate(for type: QuantType, seconds: Double) -> Double? {
        guard let k = type.kernelType else { return nil }
        let rate = ck_q8act_peak_rate(k, seconds)
        return rate > 0 ? rate : nil
    }

    /// The instruction-set extensions the kernels dispatch on in this process, by their
    /// /proc/cpuinfo names (none under HASSKIT_KERNELS=reference).
    public static var cpuFeatures: [String] {
        let f = ck_cpu_features()
        let names: [(UInt32, String)] = [
            (UInt32(CK_CPU_AVX2), "avx2"), (UInt32(CK_CPU_FMA), "fma"), (UInt32(CK_CPU_F16C), "f16c"),
            (UInt32(CK_CPU_AVX512F), "avx512f"), (UInt32(CK_CPU_AVX512BW), "avx512bw"),
            (UInt32(CK_CPU_AVX512VL), "avx512vl"), (UInt32(CK_CPU_AVX512VNNI), "avx512_vnni"),
            (UInt32(CK_CPU_AVXVNNI), "avx_vnni"),
        ]
        return names.filter { f & $0.0 != 0 }.map(\.1)
    }
}

extension QuantType {
    /// The C number of a type the kernels run (callers checked `kernelType` when the matrix opened).
    var kernel: Int32 {
        guard let k = kernelType else { preconditionFailure("\(rawValue) has no kernel") }
        return k
    }

    /// Whether the C kernels run this type (the engine refuses a matrix of another type).
    public var hasKernel: Bool { kernelType != nil }
}
