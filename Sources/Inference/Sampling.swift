import Foundation
import Platform

/// Temperature sampling with a reproducible generator: the same seed gives the same tokens.
public struct Sampling: Sendable, Equatable {
    /// Softmax temperature; 0 means greedy (argmax).
    public var temperature: Double
    /// Nucleus sampling: keep the most likely tokens whose probabilities add up to at least
    /// `topP` (1 keeps all).
    public var topP: Double
    public var seed: UInt64

    public init(temperature: Double, topP: Double = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
    }

    public static let greedy = Sampling(temperature: 0)

    public var isGreedy: Bool { temperature <= 0 }

    /// `softmax(logits / temperature)` in double precision, cut to the top-p nucleus (as
    /// transformers' `TopPLogitsWarper`: the smallest set of most likely tokens whose mass reaches
    /// `topP`, the most likely token always kept) and renormalised. Speculative sampling accepts
    /// against this same distribution, so it stays exact for the warped distribution.
    public func distribution(_ logits: [Float]) -> [Double] {
        guard let m = logits.max() else { return [] }
        var p = logits.map { Foundation.exp((Double($0) - Double(m)) / temperature) }
        var s = p.reduce(0, +)
        for i in p.indices { p[i] /= s }
        if topP < 1 {
            let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
            var mass = 0.0, kept = 0
            while kept < order.count && (kept == 0 || mass < topP) {
                mass += p[order[kept]]
                kept += 1
            }
            for i in order[kept...] { p[i] = 0 }
            s = mass
            for i in p.indices { p[i] /= s }
        }
        return p
    }
}

extension SeededGenerator {
    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// An index drawn from the weights `p` (non-negative, not necessarily normalised).
    public mutating func pick(_ p: [Double]) -> Int {
        let total = p.reduce(0, +)
        var u = unit() * total
        for (i, w) in p.enumerated() where w > 0 {
            if u < w { return i }
            u -= w
        }
        return p.lastIndex { $0 > 0 } ?? 0
    }
}
