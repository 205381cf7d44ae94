import Foundation
@testable import Inference
import Platform
import Testing

/// Speculative sampling must emit tokens distributed exactly as the base's own distribution.
/// Checked with Pearson's χ² goodness-of-fit at significance level α = 0.001 (a correct sampler
/// fails one seed in a thousand; the seeds are fixed, so the test is deterministic).
@Suite struct SpeculativeSamplingTests {
    /// Root (token 0) with children tokens 2, 5, 2 (a duplicate), 1; node 1 (token 2) has
    /// children 3 and 2; node 3 is a leaf at depth 1 that duplicates node 1's token.
    static let tree = DraftTree(
        tokens: [0, 2, 5, 2, 1, 3, 2], parents: [-1, 0, 0, 0, 0, 1, 1],
        depths: [0, 1, 1, 1, 1, 2, 2], paths: [[0, 1, 5], [0, 1, 6], [0, 2], [0, 3], [0, 4]])
    static let targets: [[Double]] = [
        [0.05, 0.10, 0.30, 0.02, 0.08, 0.25, 0.15, 0.05],
        [0.20, 0.05, 0.10, 0.40, 0.05, 0.05, 0.10, 0.05],
        [0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125],
        [0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125],
        [0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125],
        [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.93],
        [0.30, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10],
    ]

    /// χ² statistic of `counts` against probabilities `p`.
    static func chiSquare(_ counts: [Int], _ p: [Double]) -> Double {
        let n = Double(counts.reduce(0, +))
        return zip(counts, p).reduce(0) { acc, cp in
            let e = n * cp.1
            return e > 0 ? acc + (Double(cp.0) - e) * (Double(cp.0) - e) / e : acc
        }
    }

    /// χ²(7) at α = 0.001.
    static let critical7 = 24.322

    @Test func firstAndSecondTokensFollowTheBase() {
        var rng = SeededGenerator(seed: 2025)
        var first = [Int](repeating: 0, count: 8)
        var secondAfterNode1 = [Int](repeating: 0, count: 8)
        var deeper = 0
        for _ in 0..<200_000 {
            let (kept, next) = SpeculativeDecoder.acceptSampled(
                tree: Self.tree, target: { Self.targets[$0] }, rng: &rng)
            let emitted = kept.dropFirst().map { Self.tree.tokens[$0] } + [next]
            first[emitted[0]] += 1
            if kept.count > 1 && kept[1] == 1 { secondAfterNode1[emitted[1]] += 1 }
            if kept.count > 2 { deeper += 1 }
        }
        #expect(Self.chiSquare(first, Self.targets[0]) < Self.critical7, "first token counts \(first)")
        #expect(
            Self.chiSquare(secondAfterNode1, Self.targets[1]) < Self.critical7,
            "second token counts \(secondAfterNode1)")
        // Drafts are accepted often enough that both levels were exercised.
        #expect(deeper > 10_000)
    }

    @Test func aBiasedAcceptanceIsCaught() {
        // Control for the statistic: never removing rejected mass (a classic bug) skews the
        // first token enough to fail the same test.
        var rng = SeededGenerator(seed: 7)
        var first = [Int](repeating: 0, count: 8)
        for _ in 0..<200_000 {
            var token = -1
            for child in [1, 2, 4] where rng.unit() < Self.targets[0][Self.tree.tokens[child]] {
                token = Self.tree.tokens[child]
                break
            }
            first[token >= 0 ? token : rng.pick(Self.targets[0])] += 1
        }
        #expect(Self.chiSquare(first, Self.targets[0]) > Self.critical7)
    }

    @Test func seededGeneratorIsReproducibleAndUniform() {
        var a = SeededGenerator(seed: 1), b = SeededGenerator(seed: 1)
        #expect((0..<8).map { _ in a.next() } == (0..<8).map { _ in b.next() })
        var buckets = [Int](repeating: 0, count: 8)
        for _ in 0..<80_000 { buckets[min(7, Int(a.unit() * 8))] += 1 }
        #expect(Self.chiSquare(buckets, [Double](repeating: 0.125, count: 8)) < Self.critical7)
    }
}

extension SpeculativeSamplingTests {
    /// Top-p keeps the smallest most-likely set reaching p (as transformers' TopPLogitsWarper)
    /// and renormalises; speculative acceptance against it still reproduces it (χ², α = 0.001).
    @Test func topPNucleusAndExactnessUnderIt() {
        let logits: [Float] = [2.0, 1.0, 0.5, 3.0, -1.0, 0.0, 2.5, -2.0].map { Float(log(Double($0 + 3))) }
        let full = Sampling(temperature: 1).distribution(logits)
        let nucleus = Sampling(temperature: 1, topP: 0.6).distribution(logits)
        let order = full.indices.sorted { full[$0] > full[$1] }
        var mass = 0.0, kept: Set<Int> = []
        for i in order where mass < 0.6 {
            mass += full[i]
            kept.insert(i)
        }
        #expect(Set(nucleus.indices.filter { nucleus[$0] > 0 }) == kept)
        #expect(abs(nucleus.reduce(0, +) - 1) < 1e-12)
        for i in kept { #expect(abs(nucleus[i] - full[i] / mass) < 1e-12) }
        #expect(Sampling(temperature: 1, topP: 1e-9).distribution(logits).filter { $0 > 0 }.count == 1)

        var rng = SeededGenerator(seed: 99)
        var first = [Int](repeating: 0, count: 8)
        for _ in 0..<100_000 {
            let (kept, next) = SpeculativeDecoder.acceptSampled(tree: Self.tree, target: { _ in nucleus }, rng: &rng)
            first[kept.count > 1 ? Self.tree.tokens[kept[1]] : next] += 1
        }
        // Tokens outside the nucleus never appear; the rest fit it.
        for i in 0..<8 where nucleus[i] == 0 { #expect(first[i] == 0) }
        #expect(Self.chiSquare(first, nucleus) < Self.critical7)
    }
}
