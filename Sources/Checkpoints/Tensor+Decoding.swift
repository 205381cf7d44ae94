import Platform
import Quantization

extension Tensor {
    /// The tensor's values as `Float`, converted exactly as PyTorch's `.float()` does.
    ///
    /// - Throws: `CheckpointError` for element types that have no exact f32 value (complex,
    ///   sub-byte and the fnuz/e8m0 scale types).
    public func floats() throws -> [Float] {
        let data = contiguousData()
        let n = elementCount
        guard dtype.isDecodableToFloat else {
            throw CheckpointError(.unknownDType("\(dtype.rawValue) cannot be decoded to F32"), path: file)
        }
        return ElementDecoding.decode(data, as: dtype, count: n)
    }
}

/// Decoding of stored elements to `Float`: the C kernels for the common float types, plain Swift
/// for the rest.
public enum ElementDecoding {
    /// Decodes `count` elements of `dtype` from `data` (which must hold at least that many).
    public static func decode(_ data: ByteView, as dtype: DType, count n: Int) -> [Float] {
        precondition(data.count >= (dtype.byteCount(elements: UInt64(n)).map(Int.init) ?? Int.max))
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            data.withUnsafeBytes { raw in
                switch dtype {
                case .f32:
                    for i in 0..<n {
                        out[i] = Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                case .f16, .bf16:
                    let convert = dtype == .f16 ? Kernels.f16ToF32 : Kernels.bf16ToF32
                    if let base = raw.baseAddress, Int(bitPattern: base) % 2 == 0 {
                        // Aligned (the usual case): convert straight from the mapping.
                        convert(base.assumingMemoryBound(to: UInt16.self), out.baseAddress!, n)
                    } else {
                        // safetensors allows an unpadded header, leaving data at an odd address.
                        let words = (0..<n).map {
                            UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
                        }
                        words.withUnsafeBufferPointer { convert($0.baseAddress!, out.baseAddress!, n) }
                    }
                case .f8e4m3:
                    if n > 0 {
                        Kernels.f8e4m3ToF32(
                            raw.baseAddress!.assumingMemoryBound(to: UInt8.self), out.baseAddress!, count: n)
                    }
                case .f8e5m2:
                    // E5M2 is the top byte of an IEEE binary16.
                    for i in 0..<n { out[i] = Float(Float16(bitPattern: UInt16(raw[i]) << 8)) }
                case .f64:
                    for i in 0..<n {
                        out[i] = Float(
                            Double(
                                bitPattern: UInt64(
                                    littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    }
                case .bool, .u8: for i in 0..<n { out[i] = Float(raw[i]) }
                case .i8: for i in 0..<n { out[i] = Float(Int8(bitPattern: raw[i])) }
                case .i16:
                    for i in 0..<n {
                        out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                    }
                case .u16:
                    for i in 0..<n {
                        out[i] = Float(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                case .i32:
                    for i in 0..<n {
                        out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                    }
                case .u32:
                    for i in 0..<n {
                        out[i] = Float(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                case .i64:
                    for i in 0..<n {
                        out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                    }
                case .u64:
                    for i in 0..<n {
                        out[i] = Float(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                    }
                case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k:
                    let values = GGMLBlocks.dequantize(raw, dtype.ggmlBlock!, count: n)
                    for i in 0..<n { out[i] = values[i] }
                default:
                    preconditionFailure("decode called for \(dtype)")
                }
            }
            initialized = n
        }
    }
}

/// Narrowing conversions from f32, round to nearest even, matching PyTorch bit for bit.
public enum ElementEncoding {
    /// f32 → bf16 bits (NaN becomes 0x7FC0 as in PyTorch).
    public static func bf16(_ values: [Float]) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: values.count) { out, n in
            if !values.isEmpty {
                values.withUnsafeBufferPointer {
                    Kernels.f32ToBF16($0.baseAddress!, out.baseAddress!, count: values.count)
                }
            }
            n = values.count
        }
    }

    /// f32 → f16 bits (overflow to infinity).
    public static func f16(_ values: [Float]) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: values.count) { out, n in
            if !values.isEmpty {
                values.withUnsafeBufferPointer {
                    Kernels.f32ToF16($0.baseAddress!, out.baseAddress!, count: values.count)
                }
            }
            n = values.count
        }
    }

    /// f32 → float8 E4M3FN, round to nearest even after clamping to ±448 (as DeepSeek's block
    /// quantizer does); NaN maps to 0x7F.
    public static func f8e4m3(_ value: Float) -> UInt8 {
        if value.isNaN { return 0x7F }
        let sign: UInt8 = value.sign == .minus ? 0x80 : 0
        let a = min(abs(value), 448)
        // Candidates are enumerated once; the nearest one wins, ties go to the even code.
        var best: UInt8 = 0
        var bestErr = Float.infinity
        for code in UInt8(0)...0x7E {
            let v = F8E4M3.decode(code)
            let err = abs(v - a)
            if err < bestErr || (err == bestErr && code & 1 == 0 && best & 1 == 1) {
                best = code
                bestErr = err
            }
        }
        return sign | best
    }
}

/// float8 E4M3FN decoding, written from the format definition (the reference for the C table).
public enum F8E4M3 {
    public static func decode(_ code: UInt8) -> Float {
        let s: Float = code & 0x80 != 0 ? -1 : 1
        let e = Int((code >> 3) & 0xF)
        let m = Float(code & 7)
        if e == 15 && code & 7 == 7 { return .nan }
        if e == 0 { return s * (m / 8) * 0x1p-6 }
        return s * (1 + m / 8) * Float(sign: .plus, exponent: e - 7, significand: 1)
    }
}

extension ByteView {
    /// Reads every byte of the view (a word sum the compiler cannot elide); I/O benchmarks use it
    /// to measure the reader against `cat`.
    public func touchAllBytes() -> UInt64 {
        withUnsafeBytes { raw in Kernels.touch(raw.baseAddress, count: raw.count) }
    }
}
