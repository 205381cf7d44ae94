import Foundation
import Platform
import Quantization

/// The pieces of a LLaMA decoder layer shared by base models and draft heads: RMSNorm,
/// rotate-half RoPE, causal GQA attention over a cache, and the SwiGLU MLP, all in f32.
struct DecoderMath {
    let config: ModelConfig
    let inverseFrequencies: [Float]

    init(config: ModelConfig) {
        self.config = config
        inverseFrequencies = config.inverseFrequencies()
    }

    func rmsNorm(_ x: [Float], _ w: [Float]) -> [Float] { Self.rmsNorm(x, w, eps: config.rmsEps) }

    /// RMSNorm with weight `w` (also DeepSeek's, whose config is another type).
    static func rmsNorm(_ x: [Float], _ w: [Float], eps: Float) -> [Float] {
        var ss: Float = 0
        for v in x { ss += v * v }
        let scale = 1 / (ss / Float(x.count) + eps).squareRoot()
        return (0..<x.count).map { w[$0] * (x[$0] * scale) }
    }

    /// RMSNorm of each of the `n` rows of `x`.
    func rmsNormRows(_ x: [Float], _ w: [Float], n: Int) -> [Float] {
        let width = x.count / max(n, 1)
        var out: [Float] = []
        out.reserveCapacity(x.count)
        for i in 0..<n { out += rmsNorm(Array(x[(i * width)..<((i + 1) * width)]), w) }
        return out
    }

    /// Rotate-half RoPE on every head of `v` (HF LLaMA convention, not interleaved pairs).
    func rope(_ v: inout [Float], heads: Int, position: Int) {
        let d = config.headDim, half = d / 2
        for i in 0..<half {
            let angle = Float(position) * inverseFrequencies[i]
            let cs = cos(angle), sn = sin(angle)
            for h in 0..<heads {
                let a = v[h * d + i], b = v[h * d + i + half]
                v[h * d + i] = a * cs - b * sn
                v[h * d + i + half] = b * cs + a * sn
            }
        }
    }

    /// Attention of one query over cached keys/values (GQA): the first `positions` slots
    /// (causal), or exactly the slots in `visible` (a tree mask).
    func attention(
        _ q: [Float], keys: [Float], values: [Float], positions: Int, visible: [Int]? = nil, threads: Int = 1
    ) -> [Float] {
        precondition(visible?.allSatisfy { $0 < positions } ?? true)
        return attention(
            batch: q, n: 1, keys: keys, values: values, visible: [visible ?? Array(0..<positions)], threads: threads)
    }

    /// Attention of the n queries of `q` (n × heads·headDim), query i over the cache slots
    /// `visible[i]`. The work is spread over `threads`: by query (prefill and tree verification),
    /// and for fewer queries than threads over long contexts also by key/value heads. Every head's
    /// work is the same whatever the split, so the bits are too.
    func attention(batch q: [Float], n: Int, keys: [Float], values: [Float], visible: [[Int]], threads: Int) -> [Float]
    {
        let c = config, d = c.headDim, qWidth = c.heads * d, kvWidth = c.kvHeads * d, group = c.heads / c.kvHeads
        precondition(q.count == n * qWidth && visible.count == n)
        precondition(
            visible.allSatisfy { $0.allSatisfy { $0 >= 0 && ($0 + 1) * kvWidth <= min(keys.count, values.count) } })
        var out = [Float](repeating: 0, count: n * qWidth)
        let longest = visible.map(\.count).max() ?? 0
        let parts = n < threads && longest >= 64 ? max(1, min(threads, c.kvHeads)) : 1
        let scale = 1 / Float(d).squareRoot()
        q.withUnsafeBufferPointer { qb in
            keys.withUnsafeBufferPointer { kb in
                values.withUnsafeBufferPointer { vb in
                    out.withUnsafeMutableBufferPointer { ob in
                        let qs = SendableRaw(qb.baseAddress!), ks = SendableRaw(kb.baseAddress!),
                            vs = SendableRaw(vb.baseAddress!)
                        let os = SendablePointer(ob.baseAddress!)
                        WorkerPool.shared(threads: threads).run(n * parts) { task in
                            let i = task / parts, p = task % parts
                            let kv0 = c.kvHeads * p / parts, kv1 = c.kvHeads * (p + 1) / parts
                            let first = i * qWidth + kv0 * group * d
                            var scores = [Float](repeating: 0, count: visible[i].count)
                            visible[i].withUnsafeBufferPointer { slots in
                                Kernels.attention(
                                    q: qs.pointer.assumingMemoryBound(to: Float.self) + first,
                                    keys: ks.pointer.assumingMemoryBound(to: Float.self) + kv0 * d,
                                    values: vs.pointer.assumingMemoryBound(to: Float.self) + kv0 * d,
                                    keyStride: kvWidth, valueStride: kvWidth, slots: slots.baseAddress,
                                    count: slots.count, heads: (kv1 - kv0) * group, kvHeads: kv1 - kv0, headDim: d,
                                    scale: scale, out: os.pointer + first, scores: &scores)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The same, written plainly (the readable reference the kernel is tested against).
    func attentionReference(
        _ q: [Float], keys: [Float], values: [Float], positions: Int, visible: [Int]? = nil
    ) -> [Float] {
        let c = config, d = c.headDim, group = c.heads / c.kvHeads, kvWidth = c.kvHeads * d
        let scale = 1 / Float(d).squareRoot()
        let slots = visible ?? Array(0..<positions)
        var out = [Float](repeating: 0, count: c.heads * d)
        var scores = [Float](repeating: 0, count: slots.count)
        for h in 0..<c.heads {
            let kvh = h / group
            var maxScore = -Float.infinity
            for (j, p) in slots.enumerated() {
                var s: Float = 0
                for i in 0..<d { s += q[h * d + i] * keys[p * kvWidth + kvh * d + i] }
                scores[j] = s * scale
                maxScore = max(maxScore, scores[j])
            }
            var sum: Float = 0
            for j in slots.indices {
                scores[j] = exp(scores[j] - maxScore)
                sum += scores[j]
            }
            for (j, p) in slots.enumerated() {
                let w = scores[j] / sum
                for i in 0..<d { out[h * d + i] += w * values[p * kvWidth + kvh * d + i] }
            }
        }
        return out
    }

    /// down(silu(gate·x) ⊙ up·x) (also DeepSeek's dense layers and experts).
    static func mlp(_ x: [Float], gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix, threads: Int) -> [Float] {
        let g = gate.apply(x, threads: threads)
        let u = up.apply(x, threads: threads)
        var act = [Float](repeating: 0, count: g.count)
        for i in g.indices { act[i] = g[i] / (1 + exp(-g[i])) * u[i] }
        return down.apply(act, threads: threads)
    }
}
