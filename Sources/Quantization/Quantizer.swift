internal import CKernels

/// Encodes f32 values into a storage type and decodes them back, through the C kernels
/// (runtime-dispatched fast paths; `BlockQuantReference` is the readable oracle they are tested
/// against).
public enum Quantizer {
    /// Types `encode` supports.
    public static let encodableTypes: [QuantType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q5_0, .q5_1, .q4_k, .q5_k, .q6_k,
    ]

    /// Encodes `values` (row-major, with the type's block size dividing the row length) as `type`.
    /// - Returns: nil when the type has no encoder yet.
    public static func encode(_ values: [Float], as type: QuantType) -> [UInt8]? {
        let n = values.count
        precondition(n % type.blockSize == 0, "\(n) values are not whole \(type.rawValue) blocks")
        let bytes = n / type.blockSize * type.bytesPerBlock
        switch type {
        case .f32:
            return values.withUnsafeBytes { Array($0) }
        case .f16, .bf16:
            return [UInt8](unsafeUninitializedCapacity: bytes) { out, count in
                values.withUnsafeBufferPointer { src in
                    let dst = UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: UInt16.self)
                    if type == .f16 {
                        ck_f32_to_f16(src.baseAddress, dst, n)
                    } else {
                        ck_f32_to_bf16(src.baseAddress, dst, n)
                    }
                }
                count = bytes
            }
        case .q8_0, .q4_0, .q5_0, .q5_1, .q4_k, .q5_k, .q6_k:
            return [UInt8](unsafeUninitializedCapacity: bytes) { out, count in
                values.withUnsafeBufferPointer { src in
                    _ = encode(src, as: type, into: UnsafeMutableRawBufferPointer(out))
                }
                count = bytes
            }
        default:
            return nil
        }
    }

    /// Encodes `values` into `out`, which must hold exactly the encoded size. Returns false for
    /// types without an encoder.
    public static func encode(
        _ values: UnsafeBufferPointer<Float>, as type: QuantType, into out: UnsafeMutableRawBufferPointer
    ) -> Bool {
        let n = values.count
        precondition(n % type.blockSize == 0 && out.count == n / type.blockSize * type.bytesPerBlock)
        guard let src = values.baseAddress, let dst = out.baseAddress else { return n == 0 }
        switch type {
        case .f32: dst.copyMemory(from: src, byteCount: n * 4)
        case .f16: ck_f32_to_f16(src, dst.assumingMemoryBound(to: UInt16.self), n)
        case .bf16: ck_f32_to_bf16(src, dst.assumingMemoryBound(to: UInt16.self), n)
        case .q8_0: ck_quantize_q8_0(src, dst, n)
        case .q4_0: ck_quantize_q4_0(src, dst, n)
        case .q5_0: ck_quantize_q5_0(src, dst, n)
        case .q5_1: ck_quantize_q5_1(src, dst, n)
        case .q5_k: ck_quantize_q5_k(src, dst, n)
        case .q4_k: ck_quantize_q4_k(src, dst, n)
        case .q6_k: ck_quantize_q6_k(src, dst, n)
        default: return false
        }
        return true
    }

    /// Encodes `rows` rows of `values` into `out` (exactly the encoded size): the row-interleaved
    /// types (whole groups of 8 rows) as their base type, then interleaved; any other as `encode`.
    public static func encode(
        _ values: UnsafeBufferPointer<Float>, rows: Int, as type: QuantType, into out: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard let base = type.interleavedBase, let kernel = type.kernelType else {
            return encode(values, as: type, into: out)
        }
        precondition(
            rows > 0 && rows % type.interleavedRows == 0 && values.count % rows == 0,
            "\(rows) rows are not whole \(type.rawValue) groups")
        let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: out.count, alignment: 16)
        defer { plain.deallocate() }
        guard encode(values, as: base, into: plain) else { return false }
        ck_interleave_rows(kernel, plain.baseAddress, rows, values.count / rows, out.baseAddress)
        return true
    }

    /// Lays out `rows` rows of already-encoded `type` blocks (its base type's, row after row) as
    /// the row-interleaved `type`, into `out` (the same size). For GGUF blocks kept as they are.
    public static func interleave(
        _ plain: UnsafeRawBufferPointer, rows: Int, as type: QuantType, into out: UnsafeMutableRawBufferPointer
    ) {
        guard let kernel = type.kernelType, type.interleavedBase != nil else {
            out.copyMemory(from: plain)
            return
        }
        precondition(
            rows > 0 && rows % type.interleavedRows == 0 && plain.count == out.count && plain.count % rows == 0)
        let columns = plain.count / rows / type.interleavedBase!.bytesPerBlock * type.interleavedBase!.blockSize
        ck_interleave_rows(kernel, plain.baseAddress, rows, columns, out.baseAddress)
    }

    /// Decodes `rows` × `cols` values of any type the engine runs (the row-interleaved ones
    /// included) from `bytes`; nil for other types or too few bytes.
    public static func decode(_ bytes: UnsafeRawBufferPointer, as type: QuantType, rows: Int, cols: Int) -> [Float]? {
        guard let kernel = type.kernelType, type.shapeProblem([rows, cols]) == nil,
            let size = type.byteCount(shape: [rows, cols]), bytes.count >= size
        else { return nil }
        return [Float](unsafeUninitializedCapacity: rows * cols) { out, count in
            ck_dequantize_rows(kernel, bytes.baseAddress, cols, 0, rows, out.baseAddress)
            count = rows * cols
        }
    }

    /// Decodes `count` values of `type` from `bytes` (not for the row-interleaved types, whose
    /// rows need `decode(_:as:rows:cols:)`).
    /// - Returns: nil when the type has no decoder here (FP8 needs its block scales: see
    ///   `FP8BlockScale` in Checkpoints).
    public static func decode(_ bytes: UnsafeRawBufferPointer, as type: QuantType, count n: Int) -> [Float]? {
        guard n % type.blockSize == 0, bytes.count >= n / type.blockSize * type.bytesPerBlock else { return nil }
        switch type {
        case .f32:
            return (0..<n).map {
                Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        case .f16, .bf16:
            let words = (0..<n).map {
                UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
            }
            return [Float](unsafeUninitializedCapacity: n) { out, count in
                if type == .f16 {
                    ck_f16_to_f32(words, out.baseAddress, n)
                } else {
                    ck_bf16_to_f32(words, out.baseAddress, n)
                }
                count = n
            }
        case .q8_0, .q4_0, .q5_0, .q5_1, .q4_k, .q5_k, .q6_k:
            return [Float](unsafeUninitializedCapacity: n) { out, count in
                switch type {
                case .q8_0: ck_dequantize_q8_0(bytes.baseAddress, out.baseAddress, n)
                case .q4_0: ck_dequantize_q4_0(bytes.baseAddress, out.baseAddress, n)
                case .q5_0: ck_dequantize_q5_0(bytes.baseAddress, out.baseAddress, n)
                case .q5_1: ck_dequantize_q5_1(bytes.baseAddress, out.baseAddress, n)
                case .q5_k: ck_dequantize_q5_k(bytes.baseAddress, out.baseAddress, n)
                case .q4_k: ck_dequantize_q4_k(bytes.baseAddress, out.baseAddress, n)
                default: ck_dequantize_q6_k(bytes.baseAddress, out.baseAddress, n)
                }
                count = n
            }
        default:
            return nil
        }
    }

    /// Decodes a whole array.
    public static func decode(_ bytes: [UInt8], as type: QuantType, count n: Int) -> [Float]? {
        bytes.withUnsafeBytes { decode($0, as: type, count: n) }
    }
}

extension QuantType {
    /// The C kernels' number for this type (CK_TYPE_…), for the types they run.
    package var kernelType: Int32? {
        switch self {
        case .f32: return Int32(CK_TYPE_F32)
        case .f16: return Int32(CK_TYPE_F16)
        case .bf16: return Int32(CK_TYPE_BF16)
        case .q8_0: return Int32(CK_TYPE_Q8_0)
        case .q4_0: return Int32(CK_TYPE_Q4_0)
        case .q5_0: return Int32(CK_TYPE_Q5_0)
        case .q5_1: return Int32(CK_TYPE_Q5_1)
        case .q5_k: return Int32(CK_TYPE_Q5_K)
        case .q4_k: return Int32(CK_TYPE_Q4_K)
        case .q6_k: return Int32(CK_TYPE_Q6_K)
        case .q4_0_r8: return Int32(CK_TYPE_Q4_0_R8)
        case .q4_k_r8: return Int32(CK_TYPE_Q4_K_R8)
        case .q8_0_r8: return Int32(CK_TYPE_Q8_0_R8)
        case .q5_0_r8: return Int32(CK_TYPE_Q5_0_R8)
        case .q6_k_r8: return Int32(CK_TYPE_Q6_K_R8)
        case .f8e4m3, .i32, .i64: return nil
        }
    }
}
