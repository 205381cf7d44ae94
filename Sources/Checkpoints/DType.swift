/// Element types as safetensors spells them (`F32`, `BF16`, `F8_E4M3`, …).
public enum DType: String, Sendable, CaseIterable, Codable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case i64 = "I64"
    case u64 = "U64"
    case f64 = "F64"
    case c64 = "C64"
    case f8e4m3 = "F8_E4M3"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3fnuz = "F8_E4M3FNUZ"
    case f8e5m2fnuz = "F8_E5M2FNUZ"
    case f8e8m0 = "F8_E8M0"
    case f4 = "F4"
    case f6e2m3 = "F6_E2M3"
    case f6e3m2 = "F6_E3M2"
    // ggml's block formats, as GGUF files carry them (`ggmlBlock` says which).
    case q4_0 = "Q4_0"
    case q4_1 = "Q4_1"
    case q5_0 = "Q5_0"
    case q5_1 = "Q5_1"
    case q8_0 = "Q8_0"
    case q2_k = "Q2_K"
    case q3_k = "Q3_K"
    case q4_k = "Q4_K"
    case q5_k = "Q5_K"
    case q6_k = "Q6_K"

    /// The ggml block format of a block type, nil for element types.
    public var ggmlBlock: GGMLType? {
        switch self {
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q2_k: return .q2_k
        case .q3_k: return .q3_k
        case .q4_k: return .q4_k
        case .q5_k: return .q5_k
        case .q6_k: return .q6_k
        default: return nil
        }
    }

    /// The element type for a GGUF tensor type.
    public init(ggml: GGMLType) {
        switch ggml {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .q4_0: self = .q4_0
        case .q4_1: self = .q4_1
        case .q5_0: self = .q5_0
        case .q5_1: self = .q5_1
        case .q8_0: self = .q8_0
        case .q2_k: self = .q2_k
        case .q3_k: self = .q3_k
        case .q4_k: self = .q4_k
        case .q5_k: self = .q5_k
        case .q6_k: self = .q6_k
        }
    }

    /// Bits per element (for a block type, its bytes per block × 8 / elements per block, rounded
    /// down: use `byteCount(elements:)` for sizes).
    public var bitWidth: Int {
        if let block = ggmlBlock { return block.blockBytes * 8 / block.blockElements }
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2, .f8e4m3fnuz, .f8e5m2fnuz, .f8e8m0: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .i64, .u64, .f64, .c64: return 64
        case .f4: return 4
        case .f6e2m3, .f6e3m2: return 6
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k: return 0  // not reached
        }
    }

    /// Bytes per element for byte-aligned types, nil for sub-byte types.
    public var byteWidth: Int? { ggmlBlock == nil && bitWidth % 8 == 0 ? bitWidth / 8 : nil }

    /// True for the floating-point types hasskit can decode to f32 exactly.
    public var isDecodableToFloat: Bool {
        switch self {
        case .f32, .f16, .bf16, .f8e4m3, .f8e5m2, .f64, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64, .bool: return true
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k: return true
        default: return false
        }
    }

    /// Bytes needed by `count` elements, or nil on overflow or when the bits do not end on a byte.
    public func byteCount(elements count: UInt64) -> UInt64? {
        if let block = ggmlBlock { return block.byteCount(elements: count) }
        let (bits, o) = count.multipliedReportingOverflow(by: UInt64(bitWidth))
        guard !o, bits % 8 == 0 else { return nil }
        return bits / 8
    }
}

/// Product of a shape with overflow checking; nil on overflow or a negative dimension.
public func elementCount(of shape: [Int]) -> UInt64? {
    var n: UInt64 = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, o) = n.multipliedReportingOverflow(by: UInt64(d))
        guard !o else { return nil }
        n = p
    }
    return n
}
