import Foundation
import WeightFormat

/// An EAGLE-1-style HASS draft head (hass-spec §1): `fc` over `concat(embed(x_{t+1}), f_t)` with
/// an optional bias, then one LLaMA decoder layer without `input_layernorm`; its output is the
/// predicted next feature, and the base model's `lm_head` turns it into logits (no final norm).
///
/// Follows HASS's `model/cnets.py` `Model`; the fixtures' draft references were made with it.
public final class DraftHead {
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
        func weight(_ name: String) throws -> WeightMatrix {
            guard let e = f.tensor(named: name) else { throw InferenceError("missing tensor \(name)", path: path) }
            return try WeightMatrix(e, path: path)
        }
        func vector(_ name: String) throws -> [Float]? { try f.tensor(named: name).map { try WeightMatrix($0, path: path).vector() } }
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
            throw InferenceError("fc is \(fc.rows)×\(fc.cols); a head for hidden size \(base.config.hidden) needs \(base.config.hidden)×\(2 * base.config.hidden)", path: path)
        }
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
        let attended = math.attention(qv, keys: cache.keys[0], values: cache.values[0], positions: slot + 1, visible: visible)
        let a = o.apply(attended, threads: threads)
        var out = z
        for i in out.indices { out[i] += a[i] }
        let m = math.mlp(math.rmsNorm(out, postNorm), gate: gate, up: up, down: down, threads: threads)
        for i in out.indices { out[i] += m[i] }
        var logits = base.output.apply(out, threads: threads)
        if logits.count > base.config.vocab { logits.removeLast(logits.count - base.config.vocab) }
        return (out, logits)
    }
}
