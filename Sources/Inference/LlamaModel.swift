import Foundation
import WeightFormat

/// LLaMA-2/3 and Qwen2 decoder (RMSNorm, rotate-half RoPE, GQA attention, SwiGLU MLP; Qwen2's
/// q/k/v biases and tied embeddings), computed in f32 over weights used in place from a `.hkw`.
///
/// Follows transformers' `LlamaForCausalLM` / `Qwen2ForCausalLM` (eager attention), the
/// reference the fixtures' logits were made with.
public final class LlamaModel: CausalModel {
    public let config: ModelConfig
    public let path: String
    /// Worker threads for matrix-vector products.
    public var threads: Int

    struct Layer {
        var attnNorm: [Float]
        var q, k, v, o: WeightMatrix
        var qBias, kBias, vBias: [Float]?
        var ffnNorm: [Float]
        var gate, up, down: WeightMatrix
    }

    let embedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: [Float]
    let layers: [Layer]
    let math: DecoderMath
    private let file: HKWFile

    /// Opens a converted base model (`architecture` llama or qwen2).
    public init(path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        let f = try HKWFile(path: path)
        file = f
        self.path = path
        self.threads = threads
        guard let arch = f.metadata["architecture"]?.stringValue, ["llama", "qwen2"].contains(arch) else {
            throw InferenceError("architecture \(f.metadata["architecture"]?.stringValue ?? "(none)") is not a LLaMA/Qwen2 base model", path: path)
        }
        guard let c = f.metadata["config"] else { throw InferenceError("no config in the header", path: path) }
        config = try ModelConfig(json: c, path: path)
        let weight = f.matrix, optionalVector = f.optionalVector
        embedding = try weight("token_embd.weight")
        output = f.tensor(named: "output.weight") != nil ? try weight("output.weight") : embedding
        outputNorm = try weight("output_norm.weight").vector()
        layers = try (0..<config.layers).map { i in
            let p = "blk.\(i)."
            return Layer(attnNorm: try weight(p + "attn_norm.weight").vector(),
                         q: try weight(p + "attn_q.weight"), k: try weight(p + "attn_k.weight"),
                         v: try weight(p + "attn_v.weight"), o: try weight(p + "attn_output.weight"),
                         qBias: try optionalVector(p + "attn_q.bias"), kBias: try optionalVector(p + "attn_k.bias"),
                         vBias: try optionalVector(p + "attn_v.bias"),
                         ffnNorm: try weight(p + "ffn_norm.weight").vector(),
                         gate: try weight(p + "ffn_gate.weight"), up: try weight(p + "ffn_up.weight"), down: try weight(p + "ffn_down.weight"))
        }
        math = DecoderMath(config: config)
        guard embedding.cols == config.hidden, output.rows == config.vocab || output.rows >= config.vocab else {
            throw InferenceError("embedding/output shapes do not match the config", path: path)
        }
        let check = ShapeCheck(path: path)
        let h = config.hidden, qw = config.heads * config.headDim, kvw = config.kvHeads * config.headDim
        // Padded vocabularies (more rows than vocab_size) are fine; fewer rows are not.
        try check.matrix("token_embd.weight", embedding, rows: max(embedding.rows, config.vocab), cols: h)
        try check.matrix("output.weight", output, rows: max(output.rows, config.vocab), cols: h)
        try check.vector("output_norm.weight", outputNorm, count: h)
        for (i, l) in layers.enumerated() {
            let p = "blk.\(i)."
            try check.vector(p + "attn_norm.weight", l.attnNorm, count: h)
            try check.vector(p + "ffn_norm.weight", l.ffnNorm, count: h)
            try check.matrix(p + "attn_q.weight", l.q, rows: qw, cols: h)
            try check.matrix(p + "attn_k.weight", l.k, rows: kvw, cols: h)
            try check.matrix(p + "attn_v.weight", l.v, rows: kvw, cols: h)
            try check.matrix(p + "attn_output.weight", l.o, rows: h, cols: qw)
            try check.vector(p + "attn_q.bias", l.qBias, count: qw)
            try check.vector(p + "attn_k.bias", l.kBias, count: kvw)
            try check.vector(p + "attn_v.bias", l.vBias, count: kvw)
            try check.matrix(p + "ffn_gate.weight", l.gate, rows: config.intermediate, cols: h)
            try check.matrix(p + "ffn_up.weight", l.up, rows: config.intermediate, cols: h)
            try check.matrix(p + "ffn_down.weight", l.down, rows: h, cols: config.intermediate)
        }
    }

    public var vocabularySize: Int { config.vocab }

    public func makeCache() -> KVCache { KVCache(layers: config.layers, width: config.kvHeads * config.headDim) }

    /// Runs one token; its keys and values go to the next slot of `cache`. Returns the post-norm
    /// hidden state and the logits.
    /// - Parameters:
    ///   - position: the RoPE position (default: the slot), which differs inside a draft tree.
    ///   - visible: the cache slots the token attends to, this one included (default: all, causal).
    @discardableResult
    public func step(token: Int, cache: KVCache, position: Int? = nil, visible: [Int]? = nil) -> (hidden: [Float], logits: [Float]) {
        precondition(token >= 0 && token < embedding.rows, "token \(token) outside the vocabulary")
        let c = config
        let slot = cache.count
        let position = position ?? slot
        var x = embedding.row(token)
        for (l, layer) in layers.enumerated() {
            let h = math.rmsNorm(x, layer.attnNorm)
            var q = layer.q.apply(h, threads: threads)
            var k = layer.k.apply(h, threads: threads)
            var v = layer.v.apply(h, threads: threads)
            if let b = layer.qBias { for i in q.indices { q[i] += b[i] } }
            if let b = layer.kBias { for i in k.indices { k[i] += b[i] } }
            if let b = layer.vBias { for i in v.indices { v[i] += b[i] } }
            math.rope(&q, heads: c.heads, position: position)
            math.rope(&k, heads: c.kvHeads, position: position)
            cache.keys[l] += k
            cache.values[l] += v
            let attended = math.attention(q, keys: cache.keys[l], values: cache.values[l], positions: slot + 1, visible: visible, threads: threads)
            let o = layer.o.apply(attended, threads: threads)
            for i in x.indices { x[i] += o[i] }
            let d = DecoderMath.mlp(math.rmsNorm(x, layer.ffnNorm), gate: layer.gate, up: layer.up, down: layer.down, threads: threads)
            for i in x.indices { x[i] += d[i] }
        }
        cache.count += 1
        let hidden = math.rmsNorm(x, outputNorm)
        var logits = output.apply(hidden, threads: threads)
        if logits.count > c.vocab { logits.removeLast(logits.count - c.vocab) }
        return (hidden, logits)
    }

    /// Runs several tokens in one pass: every weight matrix is read once for the whole batch
    /// (`cblas_sgemm`), which is what makes verifying a draft tree cheap. Their keys and values go
    /// to the next slots of `cache`, in order.
    /// - Parameters:
    ///   - positions: RoPE positions (default: their slots).
    ///   - visible: per token, the cache slots it attends to, itself included (default: causal).
    public func forward(tokens: [Int], cache: KVCache, positions: [Int]? = nil, visible: [[Int]]? = nil) -> (hidden: [[Float]], logits: [[Float]]) {
        let c = config, n = tokens.count, h = c.hidden
        guard n > 0 else { return ([], []) }
        let slot0 = cache.count
        let pos = positions ?? Array(slot0..<(slot0 + n))
        let vis = visible ?? (0..<n).map { Array(0...(slot0 + $0)) }
        var x: [Float] = []
        x.reserveCapacity(n * h)
        for t in tokens {
            precondition(t >= 0 && t < embedding.rows, "token \(t) outside the vocabulary")
            x += embedding.row(t)
        }
        let qWidth = c.heads * c.headDim, kvWidth = c.kvHeads * c.headDim
        for (l, layer) in layers.enumerated() {
            let hN = math.rmsNormRows(x, layer.attnNorm, n: n)
            var q = layer.q.applyBatch(hN, n: n, threads: threads), k = layer.k.applyBatch(hN, n: n, threads: threads), v = layer.v.applyBatch(hN, n: n, threads: threads)
            for i in 0..<n {
                if let b = layer.qBias { for j in 0..<qWidth { q[i * qWidth + j] += b[j] } }
                if let b = layer.kBias { for j in 0..<kvWidth { k[i * kvWidth + j] += b[j] } }
                if let b = layer.vBias { for j in 0..<kvWidth { v[i * kvWidth + j] += b[j] } }
                var qi = Array(q[(i * qWidth)..<((i + 1) * qWidth)])
                var ki = Array(k[(i * kvWidth)..<((i + 1) * kvWidth)])
                math.rope(&qi, heads: c.heads, position: pos[i])
                math.rope(&ki, heads: c.kvHeads, position: pos[i])
                q.replaceSubrange((i * qWidth)..<((i + 1) * qWidth), with: qi)
                k.replaceSubrange((i * kvWidth)..<((i + 1) * kvWidth), with: ki)
            }
            cache.keys[l] += k
            cache.values[l] += v
            let attended = math.attention(batch: q, n: n, keys: cache.keys[l], values: cache.values[l], visible: vis, threads: threads)
            let o = layer.o.applyBatch(attended, n: n, threads: threads)
            for i in x.indices { x[i] += o[i] }
            let h2 = math.rmsNormRows(x, layer.ffnNorm, n: n)
            let g = layer.gate.applyBatch(h2, n: n, threads: threads)
            let u = layer.up.applyBatch(h2, n: n, threads: threads)
            var act = [Float](repeating: 0, count: g.count)
            for i in g.indices { act[i] = g[i] / (1 + exp(-g[i])) * u[i] }
            let d = layer.down.applyBatch(act, n: n, threads: threads)
            for i in x.indices { x[i] += d[i] }
        }
        cache.count += n
        let hidden = math.rmsNormRows(x, outputNorm, n: n)
        let logits = output.applyBatch(hidden, n: n, threads: threads)
        let rows = output.rows
        return ((0..<n).map { Array(hidden[($0 * h)..<(($0 + 1) * h)]) },
                (0..<n).map { Array(logits[($0 * rows)..<($0 * rows + min(rows, c.vocab))]) })
    }

}
