import CKernels
import Foundation
import Testing

/// The attention kernels' paths. The exp they use (ck_expf): a polynomial written as plain multiplies and adds,
/// so that its AVX2 lanes and the portable code give the same bits. It must stay within 2 ulp of
/// the C library's expf over the softmax's range (x ≤ 0), give 0 where expf underflows to a
/// subnormal or for a NaN score, and exactly 1 at 0.
@Suite struct AttentionPathTests {
    /// Values uniform in [−1, 1), from a seed.
    struct Uniform {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
    }

    @Test func withinTwoUlpOfExpf() {
        var worst: Float = 0
        var x: Float = -87.3
        while x <= 0 {
            let mine = ck_expf(x), libm = expf(x)
            worst = max(worst, abs(mine - libm) / libm.ulp)
            x += 0.0137
        }
        #expect(worst <= 2, "largest error \(worst) ulp")
        #expect(ck_expf(0) == 1)
        #expect(ck_expf(-88) == 0 && ck_expf(-.infinity) == 0 && ck_expf(.nan) == 0)
        #expect(abs(ck_expf(1) - Float(M_E)) <= Float(M_E).ulp)
    }

    /// The causal attention kernel's AVX2 path equals its readable path bit for bit (exp, the
    /// eight-lane sums and the value accumulation are the same operations), over lengths that
    /// cross its key tiles (64) and leave tails of the eight lanes, with grouped heads.
    @Test(arguments: [(1, 1), (5, 130), (16, 70)])
    func causalAttentionEqualsItsReadablePath(_ queries: Int, _ cached: Int) {
        let heads = 6, kvHeads = 2, d = 64, qWidth = heads * d, kvWidth = kvHeads * d
        let positions = cached + queries
        var random = Uniform(state: 0x9E37_79B9)
        let q = (0..<(queries * qWidth)).map { _ in random.next() * 2 }
        let keys = (0..<(positions * kvWidth)).map { _ in random.next() * 2 }
        let values = (0..<(positions * kvWidth)).map { _ in random.next() }
        var fast = [Float](repeating: .nan, count: queries * qWidth), plain = fast
        var scores = [Float](repeating: 0, count: queries * positions)
        let scale = 1 / Float(d).squareRoot()
        ck_attention_causal(
            q, qWidth, queries, cached + 1, keys, values, kvWidth, kvWidth, heads, kvHeads, d, scale, &fast, qWidth,
            &scores)
        ck_attention_causal_reference(
            q, qWidth, queries, cached + 1, keys, values, kvWidth, kvWidth, heads, kvHeads, d, scale, &plain, qWidth,
            &scores)
        let same = fast.map(\.bitPattern) == plain.map(\.bitPattern)
        #expect(same, "\(KernelPath.name) attention differs from its readable path")
        #expect(!fast.contains { $0.isNaN })
    }

    /// A run longer than the kernel's internal cut (64 queries) gives each query the bits it gets
    /// alone (a run of one at its own position).
    @Test func aLongRunEqualsItsQueriesAlone() {
        let heads = 4, kvHeads = 2, d = 16, qWidth = heads * d, kvWidth = kvHeads * d, queries = 100, cached = 9
        let positions = cached + queries
        var random = Uniform(state: 42)
        let q = (0..<(queries * qWidth)).map { _ in random.next() }
        let keys = (0..<(positions * kvWidth)).map { _ in random.next() }
        let values = (0..<(positions * kvWidth)).map { _ in random.next() }
        var run = [Float](repeating: .nan, count: queries * qWidth), alone = run
        var scores = [Float](repeating: 0, count: queries * positions)
        let scale = 1 / Float(d).squareRoot()
        ck_attention_causal(
            q, qWidth, queries, cached + 1, keys, values, kvWidth, kvWidth, heads, kvHeads, d, scale, &run, qWidth,
            &scores)
        q.withUnsafeBufferPointer { qp in
            alone.withUnsafeMutableBufferPointer { op in
                for t in 0..<queries {
                    ck_attention_causal(
                        qp.baseAddress! + t * qWidth, qWidth, 1, cached + 1 + t, keys, values, kvWidth, kvWidth, heads,
                        kvHeads, d, scale, op.baseAddress! + t * qWidth, qWidth, &scores)
                }
            }
        }
        let same = run.map(\.bitPattern) == alone.map(\.bitPattern)
        #expect(same, "a query's bits depend on the run it is in")
    }
}
