import Foundation
import Platform
import Quantization

/// Which cache slots each query of a batch attends to.
enum Visibility {
    /// Query i sees slots 0 … start + i (a prompt, a decode step: causal).
    case causal(start: Int)
    /// Query i sees exactly the slots listed (a draft tree's mask).
    case slots([[Int]])
}

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
        rmsNormRows(x, w, n: 1, eps: eps)
    }

    /// RMSNorm of each of the `n` rows of `x`.
    func rmsNormRows(_ x: [Float], _ w: [Float], n: Int) -> [Float] {
        Self.rmsNormRows(x, w, n: n, eps: config.rmsEps)
    }

    /// RMSNorm of each of the `n` rows of `x` into one new array, with no copy of a row: a batched
    /// pass normalises every layer's input twice, on the main thread while the workers wait. Each
    /// row's sum of squares is taken in eight lanes (`Kernels.rmsNormRows`), the same for a row
    /// alone and in a batch.
    static func rmsNormRows(_ x: [Float], _ w: [Float], n: Int, eps: Float) -> [Float] {
        let width = x.count / max(n, 1)
        precondition(w.count >= width, "a norm of \(w.count) weights for rows of \(width)")
        return [Float](unsafeUninitializedCapacity: n * width) { out, initialized in
            guard n * width > 0 else { return initialized = 0 }
            x.withUnsafeBufferPointer { xs in
                w.withUnsafeBufferPointer { ws in
                    Kernels.rmsNormRows(
                        xs.baseAddress!, weights: ws.baseAddress!, into: out.baseAddress!, n: n, width: width, eps: eps)
                }
            }
            initialized = n * width
        }
    }

    /// Rotate-half RoPE on every head of `v` (HF LLaMA convention, not interleaved pairs).
    func rope(_ v: inout [Float], heads: Int, position: Int) {
        v.withUnsafeMutableBufferPointer { rope($0.baseAddress!, heads: heads, position: position) }
    }

    /// The same on the `heads` heads at `v`, in place (a row of a batch, with no copy of it).
    func rope(_ v: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
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
            batch: q, n: 1, keys: keys, values: values,
            visibility: visible.map { .slots([$0]) } ?? .causal(start: positions - 1), threads: threads)
    }

    /// Queries per task of a causal run: each tile of keys and values is read once for them.
    static let queryTile = 16

    /// Attention of the n queries of `q` (n × heads·headDim) over the cache slots `visibility`
    /// gives each. The work is spread over `threads`: by query (a causal run in tiles of
    /// `queryTile`, a tree query by query), and for fewer queries than threads over long contexts
    /// also by key/value heads. Every head's work is the same whatever the split, so the bits are
    /// too, and a causal query gets the bits a tree query over the same slots gets.
    func attention(
        batch q: [Float], n: Int, keys: [Float], values: [Float], visibility: Visibility, threads: Int
    ) -> [Float] {
        let c = config, d = c.headDim, qWidth = c.heads * d, kvWidth = c.kvHeads * d, group = c.heads / c.kvHeads
        let held = min(keys.count, values.count) / kvWidth
        precondition(q.count == n * qWidth)
        var out = [Float](repeating: 0, count: n * qWidth)
        let longest: Int
        switch visibility {
        case .causal(let start):
            precondition(start >= 0 && start + n <= held, "causal queries past the cache")
            longest = start + n
        case .slots(let visible):
            precondition(visible.count == n && visible.allSatisfy { $0.allSatisfy { $0 >= 0 && $0 < held } })
            longest = visible.map(\.count).max() ?? 0
        }
        let tiles: Int
        if case .causal = visibility { tiles = (n + Self.queryTile - 1) / Self.queryTile } else { tiles = n }
        let parts = tiles < threads && longest >= 64 ? max(1, min(threads, c.kvHeads)) : 1
        let scale = 1 / Float(d).squareRoot()
        q.withUnsafeBufferPointer { qb in
            keys.withUnsafeBufferPointer { kb in
                values.withUnsafeBufferPointer { vb in
                    out.withUnsafeMutableBufferPointer { ob in
                        let qs = SendableRaw(qb.baseAddress!), ks = SendableRaw(kb.baseAddress!),
                            vs = SendableRaw(vb.baseAddress!)
                        let os = SendablePointer(ob.baseAddress!)
                        WorkerPool.shared(threads: threads).run(tiles * parts) { task in
                            let i = task / parts, p = task % parts
                            let kv0 = c.kvHeads * p / parts, kv1 = c.kvHeads * (p + 1) / parts
                            let qPointer = qs.pointer.assumingMemoryBound(to: Float.self) + kv0 * group * d
                            let kPointer = ks.pointer.assumingMemoryBound(to: Float.self) + kv0 * d
                            let vPointer = vs.pointer.assumingMemoryBound(to: Float.self) + kv0 * d
                            switch visibility {
                            case .causal(let start):
                                let first = i * Self.queryTile, count = min(Self.queryTile, n - first)
                                var scores = [Float](repeating: 0, count: count * (start + first + count))
                                Kernels.attentionCausal(
                                    q: qPointer + first * qWidth, qStride: qWidth, queries: count,
                                    firstCount: start + first + 1, keys: kPointer, values: vPointer,
                                    keyStride: kvWidth, valueStride: kvWidth, heads: (kv1 - kv0) * group,
                                    kvHeads: kv1 - kv0, headDim: d, scale: scale,
                                    out: os.pointer + first * qWidth + kv0 * group * d, outStride: qWidth,
                                    scores: &scores)
                            case .slots(let visible):
                                var scores = [Float](repeating: 0, count: visible[i].count)
                                visible[i].withUnsafeBufferPointer { slots in
                                    Kernels.attention(
                                        q: qPointer + i * qWidth, keys: kPointer, values: vPointer,
                                        keyStride: kvWidth, valueStride: kvWidth, slots: slots.baseAddress,
                                        count: slots.count, heads: (kv1 - kv0) * group, kvHeads: kv1 - kv0,
                                        headDim: d, scale: scale, out: os.pointer + i * qWidth + kv0 * group * d,
                                        scores: &scores)
                                }
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
        return down.apply(swiGLU(g, u), threads: threads)
    }

    /// Adds `b` to each of the n rows of `x` (a bias; or, with n = 1, a residual of x's length).
    static func addRows(_ x: inout [Float], _ b: [Float], n: Int) {
        let width = b.count
        precondition(x.count == n * width, "adding rows of \(width) to \(n) rows of \(x.count / max(n, 1))")
        x.withUnsafeMutableBufferPointer { xs in
            b.withUnsafeBufferPointer { bs in
                for i in 0..<n {
                    let row = xs.baseAddress! + i * width
                    for j in 0..<width { row[j] += bs[j] }
                }
            }
        }
    }

    /// silu(g) ⊙ u, element by element (`Kernels.swiGLU`: the C library's expf per element was
    /// 2 % of a decode step's main thread, while the workers waited).
    static func swiGLU(_ g: [Float], _ u: [Float]) -> [Float] {
        precondition(g.count == u.count)
        return [Float](unsafeUninitializedCapacity: g.count) { out, initialized in
            g.withUnsafeBufferPointer { gs in
                u.withUnsafeBufferPointer { us in
                    if !gs.isEmpty {
                        Kernels.swiGLU(gs.baseAddress!, us.baseAddress!, into: out.baseAddress!, count: gs.count)
                    }
                }
            }
            initialized = g.count
        }
    }
}
