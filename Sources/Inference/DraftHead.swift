import Foundation
import WeightFormat

/// An EAGLE-1-style HASS draft head (hass-spec §1): `fc` over `concat(embed(x_{t+1}), f_t)` with
/// an optional bias, then one LLaMA decoder layer without `input_layernorm`; its output is the
/// predicted next feature, and the base model's `lm_head` turns it into logits (no final norm).
///
/// Follows HASS's `model/cnets.py` `Model`; the fixtures' draft references were made with it.
public final class DraftHead: FeatureDraft {
    public let config: ModelConfig
    public let base: LlamaModel
    let embedding: WeightMatrix
    let fc: WeightMatrix
    let fcBias: [Float]?
    let q, k, v, o, gate, up, down: WeightMatrix
    let qBias, kBias, vBias: [Float]?
    let postNorm: [Float]
    let math: DecoderMath

    /// Opens a converted head; its embedding is its own copy, or the base's when the converter
    /// found them equal and left it out.
    public init(path: String, base: LlamaModel) throws {
        let f = try HKWFile(path: path)
        guard f.metadata["architecture"]?.stringValue == "eagle_head" else {
            throw InferenceError("not an EAGLE/HASS draft head (architecture \(f.metadata["architecture"]?.stringValue ?? "none"))", path: path)
        }
        guard let c = f.metadata["config"] else { throw InferenceError("no config in the header", path: path) }
        config = try ModelConfig(json: c, path: path)
        self.base = base
        let weight = f.matrix, vector = f.optionalVector
        embedding = f.tensor(named: "token_embd.weight") != nil ? try weight("token_embd.weight") : base.embedding
        fc = try weight("fc.weight")
        fcBias = try vector("fc.bias")
        q = try weight("blk.0.attn_q.weight")
        k = try weight("blk.0.attn_k.weight")
        v = try weight("blk.0.attn_v.weight")
        o = try weight("blk.0.attn_output.weight")
        qBias = try vector("blk.0.attn_q.bias")
        kBias = try vector("blk.0.attn_k.bias")
        vBias = try vector("blk.0.attn_v.bias")
        postNorm = try vector("blk.0.ffn_norm.weight") ?? []
        gate = try weight("blk.0.ffn_gate.weight")
        up = try weight("blk.0.ffn_up.weight")
        down = try weight("blk.0.ffn_down.weight")
        math = DecoderMath(config: config)
        guard fc.cols == 2 * config.hidden, fc.rows == config.hidden, config.hidden == base.config.hidden else {
            throw InferenceError("fc is \(fc.rows)×\(fc.cols); a head for hidden size \(base.config.hidden) needs \(base.config.hidden)×\(2 * base.config.hidden), so it was made for another base", path: path, kind: .incompatible)
        }
        // The head reads the base's vocabulary: its embedding rows are token ids of the base.
        try ShapeCheck(path: path, kind: .incompatible).matrix("token_embd.weight", embedding, rows: base.config.vocab, cols: base.config.hidden)
        let check = ShapeCheck(path: path), h = config.hidden
        let qw = config.heads * config.headDim, kvw = config.kvHeads * config.headDim
        try check.vector("fc.bias", fcBias, count: h)
        try check.matrix("blk.0.attn_q.weight", q, rows: qw, cols: h)
        try check.matrix("blk.0.attn_k.weight", k, rows: kvw, cols: h)
        try check.matrix("blk.0.attn_v.weight", v, rows: kvw, cols: h)
        try check.matrix("blk.0.attn_output.weight", o, rows: h, cols: qw)
        try check.vector("blk.0.attn_q.bias", qBias, count: qw)
        try check.vector("blk.0.attn_k.bias", kBias, count: kvw)
        try check.vector("blk.0.attn_v.bias", vBias, count: kvw)
        try check.vector("blk.0.ffn_norm.weight", postNorm, count: h)
        try check.matrix("blk.0.ffn_gate.weight", gate, rows: config.intermediate, cols: h)
        try check.matrix("blk.0.ffn_up.weight", up, rows: config.intermediate, cols: h)
        try check.matrix("blk.0.ffn_down.weight", down, rows: h, cols: config.intermediate)
    }

    public func makeCache() -> KVCache { KVCache(layers: 1, width: config.kvHeads * config.headDim) }

    /// One draft position: the pair (`feature` f_t, `token` x_{t+1}) at the next position of
    /// `cache`; returns the predicted feature and its logits through the base's head.
    public func step(feature: [Float], token: Int, cache: KVCache, position: Int? = nil, visible: [Int]? = nil) -> (feature: [Float], logits: [Float]) {
        let threads = base.threads
        let slot = cache.count
        let position = position ?? slot
        var z = fc.apply(embedding.row(token) + feature, threads: threads)
        if let b = fcBias { for i in z.indices { z[i] += b[i] } }
        var qv = q.apply(z, threads: threads), kv = k.apply(z, threads: threads), vv = v.apply(z, threads: threads)
        if let b = qBias { for i in qv.indices { qv[i] += b[i] } }
        if let b = kBias { for i in kv.indices { kv[i] += b[i] } }
        if let b = vBias { for i in vv.indices { vv[i] += b[i] } }
        math.rope(&qv, heads: config.heads, position: position)
        math.rope(&kv, heads: config.kvHeads, position: position)
        cache.keys[0] += kv
        cache.values[0] += vv
        cache.count += 1
        let attended = math.attention(qv, keys: cache.keys[0], values: cache.values[0], positions: slot + 1, visible: visible, threads: threads)
        let a = o.apply(attended, threads: threads)
        var out = z
        for i in out.indices { out[i] += a[i] }
        let m = DecoderMath.mlp(math.rmsNorm(out, postNorm), gate: gate, up: up, down: down, threads: threads)
        for i in out.indices { out[i] += m[i] }
        var logits = base.output.apply(out, threads: threads)
        if logits.count > base.config.vocab { logits.removeLast(logits.count - base.config.vocab) }
        return (out, logits)
    }

    /// Several draft positions in one pass (each weight read once for the batch): the pairs go
    /// to the next slots of `cache` in order.
    /// - Parameters:
    ///   - positions: RoPE positions (default: their slots).
    ///   - visible: per pair, the cache slots it attends to, itself included (default: causal).
    public func forward(features: [[Float]], tokens: [Int], cache: KVCache, positions: [Int]? = nil,
                        visible: [[Int]]? = nil) -> (features: [[Float]], logits: [[Float]]) {
        let n = tokens.count, h = config.hidden
        guard n > 0 else { return ([], []) }
        let slot0 = cache.count
        let pos = positions ?? Array(slot0..<(slot0 + n))
        let vis = visible ?? (0..<n).map { Array(0...(slot0 + $0)) }
        var input: [Float] = []
        input.reserveCapacity(n * 2 * h)
        for i in 0..<n { input += embedding.row(tokens[i]) + features[i] }
        var z = fc.applyBatch(input, n: n, threads: base.threads)
        if let b = fcBias { for i in 0..<n { for j in 0..<h { z[i * h + j] += b[j] } } }
        let qWidth = config.heads * config.headDim, kvWidth = config.kvHeads * config.headDim
        var q = q.applyBatch(z, n: n, threads: base.threads), k = k.applyBatch(z, n: n, threads: base.threads), v = v.applyBatch(z, n: n, threads: base.threads)
        for i in 0..<n {
            if let b = qBias { for j in 0..<qWidth { q[i * qWidth + j] += b[j] } }
            if let b = kBias { for j in 0..<kvWidth { k[i * kvWidth + j] += b[j] } }
            if let b = vBias { for j in 0..<kvWidth { v[i * kvWidth + j] += b[j] } }
            var qi = Array(q[(i * qWidth)..<((i + 1) * qWidth)])
            var ki = Array(k[(i * kvWidth)..<((i + 1) * kvWidth)])
            math.rope(&qi, heads: config.heads, position: pos[i])
            math.rope(&ki, heads: config.kvHeads, position: pos[i])
            q.replaceSubrange((i * qWidth)..<((i + 1) * qWidth), with: qi)
            k.replaceSubrange((i * kvWidth)..<((i + 1) * kvWidth), with: ki)
        }
        cache.keys[0] += k
        cache.values[0] += v
        cache.count += n
        let attended = math.attention(batch: q, n: n, keys: cache.keys[0], values: cache.values[0], visible: vis, threads: base.threads)
        let a = o.applyBatch(attended, n: n, threads: base.threads)
        var out = z
        for i in out.indices { out[i] += a[i] }
        let normed = math.rmsNormRows(out, postNorm, n: n)
        let g = gate.applyBatch(normed, n: n, threads: base.threads), u = up.applyBatch(normed, n: n, threads: base.threads)
        var act = [Float](repeating: 0, count: g.count)
        for i in g.indices { act[i] = g[i] / (1 + exp(-g[i])) * u[i] }
        let m = down.applyBatch(act, n: n, threads: base.threads)
        for i in out.indices { out[i] += m[i] }
        let logits = base.output.applyBatch(out, n: n, threads: base.threads)
        let rows = base.output.rows, vocab = min(rows, base.config.vocab)
        return ((0..<n).map { Array(out[($0 * h)..<(($0 + 1) * h)]) }, (0..<n).map { Array(logits[($0 * rows)..<($0 * rows + vocab)]) })
    }

    /// Logits of a predicted feature through the base's head (HASS heads have no final norm).
    public func logits(of feature: [Float]) -> [Float] {
        var l = base.output.apply(feature, threads: base.threads)
        if l.count > base.config.vocab { l.removeLast(l.count - base.config.vocab) }
        return l
    }
}
