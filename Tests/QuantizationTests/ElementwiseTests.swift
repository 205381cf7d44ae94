import CKernels
import Foundation
import Quantization
import Testing

/// The element-wise steps of a decoder layer in C (elementwise.c): SwiGLU with the kernels' exp,
/// and RMSNorm with its sum of squares in eight lanes.
@Suite struct ElementwiseTests {
    /// SiLU needs exp(−g) for gates of either sign, so the exp must hold over positive x as well
    /// as over the softmax's range: within 2 ulp of expf up to 88, and exp(88) above it.
    @Test func expIsWithinTwoUlpOfExpfForPositiveArguments() {
        var worst: Float = 0
        var x: Float = 0
        while x <= 88 {
            let mine = ck_expf(x), libm = expf(x)
            worst = max(worst, abs(mine - libm) / libm.ulp)
            x += 0.0113
        }
        #expect(worst <= 2, "largest error \(worst) ulp")
        #expect(ck_expf(1000) == ck_expf(88) && ck_expf(.infinity) == ck_expf(88))
    }

    /// Gates over the range a trained model's give (and the edges: ±0, values past exp's clamp, a
    /// NaN), in lengths that leave every tail of the eight lanes.
    static func gates(_ count: Int, seed: UInt64) -> (g: [Float], u: [Float]) {
        var random = AttentionPathTests.Uniform(state: seed)
        var g = (0..<count).map { _ in random.next() * 30 }, u = (0..<count).map { _ in random.next() * 4 }
        let edges: [Float] = [0, -0, 88.5, -88.5, 200, -200, 1e-30, -1e-30, .nan, 87.2, -87.2, 0.5]
        for (i, e) in edges.enumerated() where i * 7 < count { g[i * 7] = e }
        u[0] = count > 1 ? -u[0] : u[0]
        return (g, u)
    }

    static func swiGLU(_ g: [Float], _ u: [Float], reference: Bool) -> [Float] {
        var out = [Float](repeating: .nan, count: g.count)
        out.withUnsafeMutableBufferPointer { o in
            if reference {
                Kernels.swiGLUReference(g, u, into: o.baseAddress!, count: g.count)
            } else {
                Kernels.swiGLU(g, u, into: o.baseAddress!, count: g.count)
            }
        }
        return out
    }

    /// The AVX2 path performs the readable path's operations in the same order: the same bits, or
    /// a speculative run would stop reproducing a plain one that ran on another path.
    @Test(.enabled(if: KernelPath.fast, KernelPath.skipReason), arguments: [1, 7, 8, 13, 64, 5632])
    func swiGLUEqualsItsReadablePath(_ count: Int) {
        let (g, u) = Self.gates(count, seed: 0x5EED + UInt64(count))
        let fast = Self.swiGLU(g, u, reference: false), plain = Self.swiGLU(g, u, reference: true)
        let differing = zip(fast, plain).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "\(differing) of \(count) outputs differ from the readable path")
    }

    /// Against g·u / (1 + e^(−g)) in double precision: within 4 ulp (exp's 2 ulp shrink through
    /// 1 / (1 + e); the divide and the multiply add one each). Below a gate of −88, where exp is
    /// held at exp(88), the result is at most |g·u|·e^(−88) (about 6e-39 of |g·u|).
    @Test func swiGLUIsCloseToSiLUInDoublePrecision() {
        let (g, u) = Self.gates(5632, seed: 0xC0FFEE)
        let out = Self.swiGLU(g, u, reference: false)
        var worst: Float = 0
        for i in g.indices where !g[i].isNaN {
            if g[i] < -88 {
                #expect(abs(out[i]) <= abs(g[i] * u[i]) / ck_expf(88) * 1.0001, "g \(g[i]): \(out[i])")
                continue
            }
            let exact = Float(Double(g[i]) / (1 + Foundation.exp(-Double(g[i]))) * Double(u[i]))
            worst = max(worst, abs(out[i] - exact) / max(exact.ulp, Float.leastNonzeroMagnitude))
        }
        #expect(worst <= 4, "largest error \(worst) ulp")
        #expect(out[7 * 8].isNaN, "a NaN gate gives NaN")
        #expect(out[0] == 0 && out[14] == 88.5 * u[14] && out[28] == 200 * u[28])
    }

    /// RMSNorm: a row normalised alone has the bits it has in a batch (a tree's positions and a
    /// plain decode step normalise the same rows), and matches the double-precision formula.
    @Test(arguments: [1, 5, 2048, 2051])
    func rmsNormOfARowIsTheSameAloneAndInABatchAndMatchesDoublePrecision(_ width: Int) {
        var random = AttentionPathTests.Uniform(state: 0xA11CE + UInt64(width))
        let n = 3, eps: Float = 1e-5
        let x = (0..<(n * width)).map { _ in random.next() * 3 }, w = (0..<width).map { _ in 1 + random.next() }
        var batch = [Float](repeating: .nan, count: n * width)
        batch.withUnsafeMutableBufferPointer {
            Kernels.rmsNormRows(x, weights: w, into: $0.baseAddress!, n: n, width: width, eps: eps)
        }
        for r in 0..<n {
            let row = Array(x[(r * width)..<((r + 1) * width)])
            var alone = [Float](repeating: .nan, count: width)
            alone.withUnsafeMutableBufferPointer {
                Kernels.rmsNormRows(row, weights: w, into: $0.baseAddress!, n: 1, width: width, eps: eps)
            }
            let differing = zip(alone, batch[(r * width)..<((r + 1) * width)]).filter { $0.bitPattern != $1.bitPattern }
                .count
            #expect(differing == 0, "row \(r): \(differing) of \(width) values differ alone and in a batch")
            let meanSquare = row.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(width)
            let scale = 1 / (meanSquare + Double(eps)).squareRoot()
            var worst = 0.0
            for j in 0..<width {
                let exact = Double(w[j]) * Double(row[j]) * scale
                let ulp = Double(max(alone[j].magnitude.ulp, Float.leastNormalMagnitude))
                worst = max(worst, abs(Double(alone[j]) - exact) / ulp)
            }
            #expect(worst <= 4, "row \(r): largest error \(worst) ulp")
        }
    }
}
