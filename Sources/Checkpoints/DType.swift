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

    /// Bits per element.
    public var bitWidth: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2, .f8e4m3fnuz, .f8e5m2fnuz, .f8e8m0: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .i64, .u64, .f64, .c64: return 64
        case .f4: return 4
        case .f6e2m3, .f6e3m2: return 6
        }
    }

    /// Bytes per element for byte-aligned types, nil for sub-byte types.
    public var byteWidth: Int? { bitWidth % 8 == 0 ? bitWidth / 8 : nil }

    /// True for the floating-point types hasskit can decode to f32 exactly.
    public var isDecodableToFloat: Bool {
        switch self {
        case .f32, .f16, .bf16, .f8e4m3, .f8e5m2, .f64, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64, .bool: return true
        default: return false
        }
    }

    /// Bytes needed by `count` elements, or nil on overflow or when the bits do not end on a byte.
    public func byteCount(elements count: UInt64) -> UInt64? {
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
