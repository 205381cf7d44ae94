/// Storage types of tensors in a `.hkw` file: plain element types and ggml-compatible block
/// quantizations (layouts in `docs/FORMAT.md`, byte-compatible with ggml's `ggml-common.h`).
///
/// Block types quantize along the last (innermost) dimension, whose length must be a multiple of
/// the block size.
public enum QuantType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    /// float8 E4M3FN elements; block scales, when any, are a separate F32 tensor.
    case f8e4m3 = "F8_E4M3"
    case i32 = "I32"
    case i64 = "I64"
    /// 32 × int8 with one f16 scale (34 bytes).
    case q8_0 = "Q8_0"
    /// 32 × 4-bit with one f16 scale, offset 8 (18 bytes).
    case q4_0 = "Q4_0"
    /// 32 × 5-bit with one f16 scale, offset 16: f16 d, 4 bytes of fifth bits, 16 bytes of nibbles
    /// (22 bytes). llama.cpp's fallback for a Q4_K matrix whose rows are not a multiple of 256.
    case q5_0 = "Q5_0"
    /// 32 × 5-bit with an f16 scale and an f16 minimum, then Q5_0's fifth bits and nibbles (24
    /// bytes). llama.cpp's fallback for a Q5_K matrix whose rows are not a multiple of 256.
    case q5_1 = "Q5_1"
    /// 256-element super-block: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles (144 bytes).
    case q4_k = "Q4_K"
    /// 256-element super-block: 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 scales, f16 d (210 bytes).
    case q6_k = "Q6_K"
    /// 256-element super-block: Q4_K's d, dmin and 12 scale bytes, 32 bytes of fifth bits, then Q4_K's
    /// 128 bytes of low nibbles (176 bytes).
    case q5_k = "Q5_K"
    /// Q8_0 blocks of eight rows stored together, as Q4_0_R8 does for Q4_0.
    case q8_0_r8 = "Q8_0_R8"
    /// Q4_0 blocks of eight rows stored together, block by block (the engine's fast layout for a
    /// matrix; docs/FORMAT.md). Same bytes per block as Q4_0; 2-D with rows a multiple of 8.
    case q4_0_r8 = "Q4_0_R8"
    /// Q4_K super-blocks of eight rows stored together, as Q4_0_R8 does for Q4_0.
    case q4_k_r8 = "Q4_K_R8"
    /// Q5_0 blocks of eight rows stored together, as Q4_0_R8 does for Q4_0.
    case q5_0_r8 = "Q5_0_R8"
    /// Q6_K super-blocks of eight rows stored together (pieces in the order the products read them;
    /// docs/FORMAT.md).
    case q6_k_r8 = "Q6_K_R8"

    /// Elements per block (1 for element types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .f8e4m3, .i32, .i64: return 1
        case .q8_0, .q4_0, .q5_0, .q5_1, .q4_0_r8, .q8_0_r8, .q5_0_r8: return 32
        case .q4_k, .q5_k, .q6_k, .q4_k_r8, .q6_k_r8: return 256
        }
    }

    /// Bytes per block.
    public var bytesPerBlock: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .f8e4m3: return 1
        case .i64: return 8
        case .q8_0, .q8_0_r8: return 34
        case .q4_0, .q4_0_r8: return 18
        case .q5_0, .q5_0_r8: return 22
        case .q5_1: return 24
        case .q5_k: return 176
        case .q4_k, .q4_k_r8: return 144
        case .q6_k, .q6_k_r8: return 210
        }
    }

    /// For the row-interleaved types, the type of their blocks (Q4_0_R8 → Q4_0); nil for the others.
    public var interleavedBase: QuantType? {
        switch self {
        case .q4_0_r8: return .q4_0
        case .q4_k_r8: return .q4_k
        case .q8_0_r8: return .q8_0
        case .q5_0_r8: return .q5_0
        case .q6_k_r8: return .q6_k
        default: return nil
        }
    }

    /// The row-interleaved form of this type, when there is one (Q4_0 → Q4_0_R8).
    public var interleaved: QuantType? { QuantType.allCases.first { $0.interleavedBase == self } }

    /// Rows stored together: 8 for the row-interleaved types, 1 for the others.
    public var interleavedRows: Int { interleavedBase == nil ? 1 : 8 }

    /// True for the block-quantized types.
    public var isBlockQuantized: Bool { blockSize > 1 }

    /// Bits per weight, for reports.
    public var bitsPerWeight: Double { Double(bytesPerBlock * 8) / Double(blockSize) }

    /// Why `shape` cannot be stored as this type, or nil when it can.
    public func shapeProblem(_ shape: [Int]) -> String? {
        if shape.contains(where: { $0 < 0 }) { return "negative dimension in \(shape)" }
        guard isBlockQuantized else { return nil }
        guard let last = shape.last else { return "\(rawValue) cannot store a scalar" }
        if last % blockSize != 0 {
            return "\(rawValue) needs the last dimension to be a multiple of \(blockSize), found \(last)"
        }
        if interleavedRows > 1 && (shape.count != 2 || shape[0] % interleavedRows != 0) {
            return "\(rawValue) stores matrices of a multiple of \(interleavedRows) rows, found shape \(shape)"
        }
        return nil
    }

    /// Bytes a tensor of `shape` takes in this type, or nil when the shape does not fit the type
    /// or the size overflows.
    public func byteCount(shape: [Int]) -> UInt64? {
        guard shapeProblem(shape) == nil else { return nil }
        var elements: UInt64 = 1
        for d in shape {
            let (p, o) = elements.multipliedReportingOverflow(by: UInt64(d))
            guard !o else { return nil }
            elements = p
        }
        let blocks = elements / UInt64(blockSize)
        let (bytes, o) = blocks.multipliedReportingOverflow(by: UInt64(bytesPerBlock))
        return o ? nil : bytes
    }
}
