/// ggml's block formats decoded to f32, written to follow gguf-py's `dequantize_blocks` operation
/// for operation (the same float32 products and sums in the same order), so the values are
/// bit-identical to that reference (`Tests/Fixtures/refs/ggml_blocks.json`). Readable on purpose:
/// GGUF tensors are decoded once, on the way into a conversion.
public enum GGMLBlocks {
    /// Decodes `count` elements (whole blocks) of `type` from `raw`.
    public static func dequantize(_ raw: UnsafeRawBufferPointer, _ type: GGMLType, count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let b = raw.bindMemory(to: UInt8.self)
        func f16(_ at: Int) -> Float { Float(Float16(bitPattern: UInt16(b[at]) | UInt16(b[at + 1]) << 8)) }
        let blocks = count / type.blockElements
        let size = type.blockBytes
        for n in 0..<blocks {
            let p = n * size
            let o = n * type.blockElements
            switch type {
            case .f32, .f16, .bf16:
                preconditionFailure("plain float types are decoded elementwise")
            case .q4_0:
                let d = f16(p)
                for k in 0..<2 {
                    for j in 0..<16 {
                        let q = Int8((b[p + 2 + j] >> (4 * UInt8(k))) & 0x0F) - 8
                        out[o + k * 16 + j] = d * Float(q)
                    }
                }
            case .q4_1:
                let d = f16(p)
                let m = f16(p + 2)
                for k in 0..<2 {
                    for j in 0..<16 { out[o + k * 16 + j] = d * Float((b[p + 4 + j] >> (4 * UInt8(k))) & 0x0F) + m }
                }
            case .q5_0, .q5_1:
                let d = f16(p)
                let m: Float = type == .q5_1 ? f16(p + 2) : 0
                let h = type == .q5_1 ? p + 4 : p + 2
                let qh = UInt32(b[h]) | UInt32(b[h + 1]) << 8 | UInt32(b[h + 2]) << 16 | UInt32(b[h + 3]) << 24
                for k in 0..<2 {
                    for j in 0..<16 {
                        let e = k * 16 + j
                        let low = (b[h + 4 + j] >> (4 * UInt8(k))) & 0x0F
                        let q = low | UInt8((qh >> UInt32(e)) & 1) << 4
                        out[o + e] = type == .q5_1 ? d * Float(q) + m : d * Float(Int8(q) - 16)
                    }
                }
            case .q8_0:
                let d = f16(p)
                for j in 0..<32 { out[o + j] = Float(Int8(bitPattern: b[p + 2 + j])) * d }
            case .q2_k:
                // scales[16], qs[64], d, dmin
                let d = f16(p + 80)
                let dmin = f16(p + 82)
                for e in 0..<256 {
                    let half = e / 128
                    let shift = (e % 128) / 32
                    let j = e % 32
                    let q = Float((b[p + 16 + half * 32 + j] >> (2 * UInt8(shift))) & 3)
                    let s = b[p + e / 16]
                    let dl = d * Float(s & 0x0F)
                    let ml = dmin * Float(s >> 4)
                    out[o + e] = dl * q - ml
                }
            case .q3_k:
                // hmask[32], qs[64], scales[12], d
                let d = f16(p + 108)
                var scales = [Float](repeating: 0, count: 16)
                for i in 0..<16 {
                    let low = (b[p + 96 + i % 8] >> (4 * UInt8(i / 8))) & 0x0F
                    let high = (b[p + 96 + 8 + i % 4] >> (2 * UInt8(i / 4))) & 0x03
                    scales[i] = Float(Int8(bitPattern: low | high << 4) - 32)
                }
                for e in 0..<256 {
                    let half = e / 128
                    let shift = (e % 128) / 32
                    let j = e % 32
                    let low = Int8((b[p + 32 + half * 32 + j] >> (2 * UInt8(shift))) & 3)
                    let bit = (b[p + j] >> UInt8(e / 32)) & 1
                    let q = Float(low - Int8((bit ^ 1) << 2))
                    out[o + e] = (d * scales[e / 16]) * q
                }
            case .q4_k, .q5_k:
                // d, dmin, scales[12], (qh[32] for Q5_K), qs[128]
                let d = f16(p)
                let dmin = f16(p + 2)
                let (sc, mn) = scaleMin(b, at: p + 4)
                let qs = type == .q5_k ? p + 48 : p + 16
                for e in 0..<256 {
                    let c = e / 64
                    let k = (e % 64) / 32
                    let j = e % 32
                    var q = (b[qs + c * 32 + j] >> (4 * UInt8(k))) & 0x0F
                    if type == .q5_k { q |= ((b[p + 16 + j] >> UInt8(e / 32)) & 1) << 4 }
                    let dl = d * Float(sc[e / 32])
                    let dm = dmin * Float(mn[e / 32])
                    out[o + e] = dl * Float(q) - dm
                }
            case .q6_k:
                // ql[128], qh[64], scales[16] (int8), d
                let d = f16(p + 208)
                for e in 0..<256 {
                    let h = e / 128
                    let k = (e % 128) / 64
                    let j = e % 64
                    let low = (b[p + h * 64 + j] >> (4 * UInt8(k))) & 0x0F
                    let s = (e % 128) / 32
                    let high = (b[p + 128 + h * 32 + e % 32] >> (2 * UInt8(s))) & 0x03
                    let q = Float(Int8(low | high << 4) - 32)
                    out[o + e] = (d * Float(Int8(bitPattern: b[p + 192 + e / 16]))) * q
                }
            }
        }
        return out
    }

    /// The 6-bit scales and mins of Q4_K/Q5_K, packed in 12 bytes.
    static func scaleMin(_ b: UnsafeBufferPointer<UInt8>, at p: Int) -> ([UInt8], [UInt8]) {
        var sc = [UInt8](repeating: 0, count: 8)
        var mn = [UInt8](repeating: 0, count: 8)
        for j in 0..<4 {
            sc[j] = b[p + j] & 0x3F
            mn[j] = b[p + 4 + j] & 0x3F
            sc[4 + j] = (b[p + 8 + j] & 0x0F) | ((b[p + j] >> 2) & 0x30)
            mn[4 + j] = (b[p + 8 + j] >> 4) | ((b[p + 4 + j] >> 2) & 0x30)
        }
        return (sc, mn)
    }
}
