/// Readable Swift versions of the Q4_K and Q6_K quantizers and dequantizers, written from the
/// block layouts in `docs/FORMAT.md` and ggml's reference scale search. The C kernels are tested
/// against these bit for bit; the `gguf` Python package's dequantizers check the layouts.
public enum KQuantReference {
    /// ggml's `nearest_int`: round half to even.
    static func nearest(_ v: Float) -> Int { Int(v.rounded(.toNearestOrEven)) }

    static func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { min(max(v, lo), hi) }

    static func half(_ v: Float) -> Float { Float(Float16(v)) }

    static func putHalf(_ v: Float, _ out: inout [UInt8], at i: Int) {
        let h = Float16(v).bitPattern
        out[i] = UInt8(h & 0xFF)
        out[i + 1] = UInt8(h >> 8)
    }

    static func getHalf(_ b: ArraySlice<UInt8>, at i: Int) -> Float {
        Float(Float16(bitPattern: UInt16(b[b.startIndex + i]) | UInt16(b[b.startIndex + i + 1]) << 8))
    }

    /// Asymmetric fit of `x` to levels 0...nmax (see `fit_scale_min` in quant_kquants.c).
    static func fitScaleMin(
        _ x: ArraySlice<Float>, weights w: [Float], nmax: Int, rmin: Float, rdelta: Float,
        steps: Int
    ) -> (scale: Float, negMin: Float, levels: [UInt8]) {
        let xs = Array(x)
        let n = xs.count
        var lo = xs[0], hi = xs[0]
        var sumW = w[0]
        var sumX = sumW * xs[0]
        // Explicit comparisons (not min/max) so that signed zeros resolve as in the C version.
        for i in 1..<n {
            if xs[i] < lo { lo = xs[i] }
            if xs[i] > hi { hi = xs[i] }
            sumW += w[i]
            sumX += w[i] * xs[i]
        }
        if lo > 0 { lo = 0 }
        if hi == lo { return (0, -lo, [UInt8](repeating: 0, count: n)) }
        var inv = Float(nmax) / (hi - lo)
        var scale = 1 / inv
        var levels = [UInt8](repeating: 0, count: n)
        var best: Float = 0
        for i in 0..<n {
            levels[i] = UInt8(clamp(nearest(inv * (xs[i] - lo)), 0, nmax))
            let diff = scale * Float(levels[i]) + lo - xs[i]
            best += w[i] * (diff * diff)
        }
        for step in 0...steps {
            inv = (rmin + rdelta * Float(step) + Float(nmax)) / (hi - lo)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            var trial = [UInt8](repeating: 0, count: n)
            for i in 0..<n {
                let l = clamp(nearest(inv * (xs[i] - lo)), 0, nmax)
                trial[i] = UInt8(l)
                let lf = Float(l)
                sumL += w[i] * lf
                sumL2 += w[i] * lf * lf
                sumXL += w[i] * lf * xs[i]
            }
            let det = sumW * sumL2 - sumL * sumL
            if det > 0 {
                var s = (sumW * sumXL - sumX * sumL) / det
                var m = (sumL2 * sumX - sumL * sumXL) / det
                if m > 0 {
                    m = 0
                    s = sumXL / sumL2
                }
                var err: Float = 0
                for i in 0..<n {
                    let diff = s * Float(trial[i]) + m - xs[i]
                    err += w[i] * (diff * diff)
                }
                if err < best {
                    levels = trial
                    best = err
                    scale = s
                    lo = m
                }
            }
        }
        return (scale, -lo, levels)
    }

    static func scaleMin(_ j: Int, _ q: [UInt8]) -> (UInt8, UInt8) {
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }

    /// Q4_K: eight sub-blocks of 32 with 6-bit scales and mins, 4-bit levels.
    public static func quantizeQ4_K(_ values: [Float]) -> [UInt8] {
        precondition(values.count % 256 == 0)
        var out: [UInt8] = []
        for b in stride(from: 0, to: values.count, by: 256) {
            let x = Array(values[b..<(b + 256)])
            var blk = [UInt8](repeating: 0, count: 144)
            var scales = [Float](repeating: 0, count: 8), mins = [Float](repeating: 0, count: 8)
            var maxScale: Float = 0, maxMin: Float = 0
            for j in 0..<8 {
                let sub = x[(32 * j)..<(32 * j + 32)]
                var sumX2: Float = 0
                for v in sub { sumX2 += v * v }
                let av = (sumX2 / 32).squareRoot()
                let w = sub.map { av + abs($0) }
                let fit = fitScaleMin(sub, weights: w, nmax: 15, rmin: -1, rdelta: 0.1, steps: 20)
                scales[j] = fit.scale
                mins[j] = fit.negMin
                if scales[j] > maxScale { maxScale = scales[j] }
                if mins[j] > maxMin { maxMin = mins[j] }
            }
            let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
            let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
            var packed = [UInt8](repeating: 0, count: 12)
            for j in 0..<8 {
                let ls = UInt8(min(63, nearest(invScale * scales[j])))
                let lm = UInt8(min(63, nearest(invMin * mins[j])))
                if j < 4 {
                    packed[j] = ls
                    packed[j + 4] = lm
                } else {
                    packed[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4)
                    packed[j - 4] |= (ls >> 4) << 6
                    packed[j] |= (lm >> 4) << 6
                }
            }
            putHalf(maxScale / 63, &blk, at: 0)
            putHalf(maxMin / 63, &blk, at: 2)
            let d = getHalf(blk[...], at: 0), dmin = getHalf(blk[...], at: 2)
            var levels = [UInt8](repeating: 0, count: 256)
            for j in 0..<8 {
                // Levels from the first fit stay where the final scale is zero, as in ggml.
                let sub = x[(32 * j)..<(32 * j + 32)]
                var sumX2: Float = 0
                for v in sub { sumX2 += v * v }
                let av = (sumX2 / 32).squareRoot()
                let fit = fitScaleMin(
                    sub, weights: sub.map { av + abs($0) }, nmax: 15, rmin: -1, rdelta: 0.1, steps: 20)
                for l in 0..<32 { levels[32 * j + l] = fit.levels[l] }
                let (sc, m) = scaleMin(j, packed)
                let dj = d * Float(sc)
                if dj == 0 { continue }
                let mj = dmin * Float(m)
                for l in 0..<32 { levels[32 * j + l] = UInt8(clamp(nearest((x[32 * j + l] + mj) / dj), 0, 15)) }
            }
            for k in 0..<12 { blk[4 + k] = packed[k] }
            var q = 16
            for j in stride(from: 0, to: 256, by: 64) {
                for l in 0..<32 { blk[q + l] = levels[j + l] | (levels[j + l + 32] << 4) }
                q += 32
            }
            out += blk
        }
        return out
    }

    public static func dequantizeQ4_K(_ bytes: [UInt8]) -> [Float] {
        var out: [Float] = []
        for b in stride(from: 0, to: bytes.count, by: 144) {
            let blk = bytes[b..<(b + 144)]
            let d = getHalf(blk, at: 0), dmin = getHalf(blk, at: 2)
            let packed = Array(blk[(b + 4)..<(b + 16)])
            var q = b + 16
            for j in stride(from: 0, to: 8, by: 2) {
                let (s1, m1) = scaleMin(j, packed)
                let (s2, m2) = scaleMin(j + 1, packed)
                for l in 0..<32 { out.append(d * Float(s1) * Float(bytes[q + l] & 0xF) - dmin * Float(m1)) }
                for l in 0..<32 { out.append(d * Float(s2) * Float(bytes[q + l] >> 4) - dmin * Float(m2)) }
                q += 32
            }
        }
        return out
    }

    /// Symmetric fit of `x` to levels -nmax..<nmax (see `fit_scale_symmetric` in quant_kquants.c).
    static func fitScaleSymmetric(_ x: ArraySlice<Float>, nmax: Int) -> (Float, [Int8]) {
        let xs = Array(x)
        var amax: Float = 0, maxValue: Float = 0
        for v in xs where abs(v) > amax {
            amax = abs(v)
            maxValue = v
        }
        if amax < 1e-15 { return (0, [Int8](repeating: 0, count: xs.count)) }
        var inv = -Float(nmax) / maxValue
        var levels = xs.map { Int8(clamp(nearest(inv * $0), -nmax, nmax - 1) + nmax) }
        var sumLX: Float = 0, sumL2: Float = 0
        for v in xs {
            let l = Float(clamp(nearest(inv * v), -nmax, nmax - 1))
            let w = v * v
            sumLX += w * v * l
            sumL2 += w * l * l
        }
        var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
        var best = scale * sumLX
        for step in -9...9 where step != 0 {
            inv = -(Float(nmax) + 0.1 * Float(step)) / maxValue
            sumLX = 0
            sumL2 = 0
            for v in xs {
                let l = Float(clamp(nearest(inv * v), -nmax, nmax - 1))
                let w = v * v
                sumLX += w * v * l
                sumL2 += w * l * l
            }
            if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
                levels = xs.map { Int8(nmax + clamp(nearest(inv * $0), -nmax, nmax - 1)) }
                scale = sumLX / sumL2
                best = scale * sumLX
            }
        }
        return (scale, levels)
    }

    /// Q6_K: sixteen sub-blocks of 16 with int8 scales, 6-bit levels split into 4 + 2 bits.
    public static func quantizeQ6_K(_ values: [Float]) -> [UInt8] {
        precondition(values.count % 256 == 0)
        var out: [UInt8] = []
        for b in stride(from: 0, to: values.count, by: 256) {
            let x = Array(values[b..<(b + 256)])
            var blk = [UInt8](repeating: 0, count: 210)
            var levels = [Int8](repeating: 0, count: 256)
            var scales = [Float](repeating: 0, count: 16)
            var maxScale: Float = 0, maxAbs: Float = 0
            for j in 0..<16 {
                let (s, l) = fitScaleSymmetric(x[(16 * j)..<(16 * j + 16)], nmax: 32)
                scales[j] = s
                for k in 0..<16 { levels[16 * j + k] = l[k] }
                if abs(s) > maxAbs {
                    maxAbs = abs(s)
                    maxScale = s
                }
            }
            if maxAbs < 1e-15 {
                out += blk
                continue
            }
            let inv = -128 / maxScale
            putHalf(1 / inv, &blk, at: 208)
            var sc = [Int8](repeating: 0, count: 16)
            for j in 0..<16 { sc[j] = Int8(min(127, nearest(inv * scales[j]))) }
            let d = getHalf(blk[...], at: 208)
            for j in 0..<16 {
                let dj = d * Float(sc[j])
                if dj == 0 { continue }
                for k in 0..<16 { levels[16 * j + k] = Int8(clamp(nearest(x[16 * j + k] / dj), -32, 31) + 32) }
            }
            for j in 0..<16 { blk[192 + j] = UInt8(bitPattern: sc[j]) }
            let L = levels.map { UInt8(bitPattern: $0) }
            var ql = 0, qh = 128
            for j in stride(from: 0, to: 256, by: 128) {
                for l in 0..<32 {
                    blk[ql + l] = (L[j + l] & 0xF) | ((L[j + l + 64] & 0xF) << 4)
                    blk[ql + l + 32] = (L[j + l + 32] & 0xF) | ((L[j + l + 96] & 0xF) << 4)
                    blk[qh + l] =
                        (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4)
                        | ((L[j + l + 96] >> 4) << 6)
                }
                ql += 64
                qh += 32
            }
            out += blk
        }
        return out
    }

    public static func dequantizeQ6_K(_ bytes: [UInt8]) -> [Float] {
        var out: [Float] = []
        for b in stride(from: 0, to: bytes.count, by: 210) {
            let d = getHalf(bytes[b..<(b + 210)], at: 208)
            var y = [Float](repeating: 0, count: 256)
            for half in 0..<2 {
                let ql = b + 64 * half, qh = b + 128 + 32 * half, sc = b + 192 + 8 * half
                for l in 0..<32 {
                    let s = l / 16
                    let q1 = Int((bytes[ql + l] & 0xF) | ((bytes[qh + l] >> 0) & 3) << 4) - 32
                    let q2 = Int((bytes[ql + l + 32] & 0xF) | ((bytes[qh + l] >> 2) & 3) << 4) - 32
                    let q3 = Int((bytes[ql + l] >> 4) | ((bytes[qh + l] >> 4) & 3) << 4) - 32
                    let q4 = Int((bytes[ql + l + 32] >> 4) | ((bytes[qh + l] >> 6) & 3) << 4) - 32
                    func scale(_ k: Int) -> Float { Float(Int8(bitPattern: bytes[sc + k])) }
                    y[128 * half + l] = d * scale(s) * Float(q1)
                    y[128 * half + l + 32] = d * scale(s + 2) * Float(q2)
                    y[128 * half + l + 64] = d * scale(s + 4) * Float(q3)
                    y[128 * half + l + 96] = d * scale(s + 6) * Float(q4)
                }
            }
            out += y
        }
        return out
    }
}
