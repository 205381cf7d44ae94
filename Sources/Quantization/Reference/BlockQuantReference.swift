/// Readable Swift versions of the block quantizers, written from the format definitions
/// (`docs/FORMAT.md`, ggml's `quantize_row_*_ref`). They are the oracle the C fast paths are tested
/// against, and the gguf Python package's quantizers are the oracle for these.
public enum BlockQuantReference {
    /// ggml's `roundf`: round half away from zero.
    @inlinable static func roundAway(_ x: Float) -> Float { x.rounded(.toNearestOrAwayFromZero) }

    static func appendHalf(_ v: Float, to out: inout [UInt8]) {
        let h = Float16(v).bitPattern
        out.append(UInt8(h & 0xFF))
        out.append(UInt8(h >> 8))
    }

    static func half(_ bytes: ArraySlice<UInt8>) -> Float {
        let i = bytes.startIndex
        return Float(Float16(bitPattern: UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8))
    }

    /// Q8_0: per 32 values, d = max|x| / 127 (stored as f16), q = round(x / d) as int8.
    public static func quantizeQ8_0(_ x: [Float]) -> [UInt8] {
        precondition(x.count % 32 == 0)
        var out: [UInt8] = []
        out.reserveCapacity(x.count / 32 * 34)
        for b in stride(from: 0, to: x.count, by: 32) {
            let block = x[b..<(b + 32)]
            let amax = block.reduce(Float(0)) { max($0, abs($1)) }
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            appendHalf(d, to: &out)
            for v in block { out.append(UInt8(bitPattern: Int8(roundAway(v * id)))) }
        }
        return out
    }

    public static func dequantizeQ8_0(_ bytes: [UInt8]) -> [Float] {
        var out: [Float] = []
        for b in stride(from: 0, to: bytes.count, by: 34) {
            let d = half(bytes[b..<(b + 2)])
            for j in 0..<32 { out.append(Float(Int8(bitPattern: bytes[b + 2 + j])) * d) }
        }
        return out
    }

    /// Q4_0: per 32 values, d = (the value of largest magnitude) / −8, q = min(15, trunc(x / d + 8.5));
    /// element j and j+16 share byte j (low and high nibble).
    public static func quantizeQ4_0(_ x: [Float]) -> [UInt8] {
        precondition(x.count % 32 == 0)
        var out: [UInt8] = []
        out.reserveCapacity(x.count / 32 * 18)
        for b in stride(from: 0, to: x.count, by: 32) {
            var amax: Float = 0
            var maxValue: Float = 0
            for v in x[b..<(b + 32)] where abs(v) > amax {
                amax = abs(v)
                maxValue = v
            }
            let d = maxValue / -8
            let id: Float = d != 0 ? 1 / d : 0
            appendHalf(d, to: &out)
            for j in 0..<16 {
                let q0 = min(15, UInt8((x[b + j] * id + 8.5).rounded(.towardZero)))
                let q1 = min(15, UInt8((x[b + j + 16] * id + 8.5).rounded(.towardZero)))
                out.append(q0 | q1 << 4)
            }
        }
        return out
    }

    public static func dequantizeQ4_0(_ bytes: [UInt8]) -> [Float] {
        var out: [Float] = []
        for b in stride(from: 0, to: bytes.count, by: 18) {
            let d = half(bytes[b..<(b + 2)])
            var block = [Float](repeating: 0, count: 32)
            for j in 0..<16 {
                block[j] = Float(Int(bytes[b + 2 + j] & 0x0F) - 8) * d
                block[j + 16] = Float(Int(bytes[b + 2 + j] >> 4) - 8) * d
            }
            out.append(contentsOf: block)
        }
        return out
    }
}
