import Foundation
import WeightFormat

/// One LLaMA decoder layer over a batch of `n` positions (n = 1 is a decode step), the one copy of
/// attention + MLP that base models and HASS heads share, as mlx-swift-lm's transformer block is:
///
///     h = x + o(attention(rope(q(norm₁(x))), rope(k(norm₁(x))), v(norm₁(x))))
///     x' = h + down(silu(gate(norm₂(h))) ⊙ up(norm₂(h)))
///
/// A HASS head's layer is the same block without the input norm (`attnNorm == nil`: its input is
/// `fc`'s output). transformers' `LlamaDecoderLayer`; HASS's `cnets.py` `LlamaDecoderLayer` with
/// `index == 0`.
struct DecoderBlock {
    /// `input_layernorm`; nil in a HASS head.
    let attnNorm: [Float]?
    let q, k, v, o: WeightMatrix
    let qBias, kBias, vBias: [Float]?
    /// `post_attention_layernorm`.
    let ffnNorm: [Float]
    let gate, up, down: WeightMatrix

    /// How the products are computed. `.single` is the decode step's matrix-vector path; `.batch`
    /// reads each weight once for all n inputs (prefill, tree verification, draft levels). Each
    /// caller keeps the path it always had, so every result keeps its bits.
    enum Products {
        case single
        case batch
    }

    /// Runs the layer on `x` (n × hidden, in place). The n new keys and values go to the end of
    /// cache layer `layer`; position i uses RoPE position `positions[i]` and attends to the cache
    /// slots `visibility` gives it (itself included). The caller advances `cache.count`.
    func callAsFunction(
        _ x: inout [Float], n: Int, positions: [Int], visibility: Visibility, cache: KVCache, layer: Int,
        math: DecoderMath, threads: Int, products: Products
    ) {
        let c = math.config
        precondition(products == .batch || n == 1, "the single-input path takes one position")
        func product(_ w: WeightMatrix, _ input: [Float]) -> [Float] {
            products == .single ? w.apply(input, threads: threads) : w.applyBatch(input, n: n, threads: threads)
        }
        // Matrices that read the same input: one quantization and one job where all of them take
        // 8-bit activations on this path (the same kernels, so the same bits), else one by one.
        func sharedInput(_ ws: [WeightMatrix], _ input: [Float]) -> [[Float]] {
            let int8 = ws.allSatisfy { products == .single ? $0.takesInt8Activations : $0.batchTakesInt8(n) }
            guard int8, ws.allSatisfy({ $0.cols == ws[0].cols }) else { return ws.map { product($0, input) } }
            return WeightMatrix.applyInt8(ws, input, n: n, threads: threads)
        }
        let h = attnNorm.map { math.rmsNormRows(x, $0, n: n) } ?? x
        let qkv = sharedInput([q, k, v], h)
        var qs = qkv[0], ks = qkv[1], vs = qkv[2]
        let qWidth = c.heads * c.headDim, kvWidth = c.kvHeads * c.headDim
        if let b = qBias { DecoderMath.addRows(&qs, b, n: n) }
        if let b = kBias { DecoderMath.addRows(&ks, b, n: n) }
        if let b = vBias { DecoderMath.addRows(&vs, b, n: n) }
        qs.withUnsafeMutableBufferPointer { q in
            ks.withUnsafeMutableBufferPointer { k in
                for i in 0..<n {
                    math.rope(q.baseAddress! + i * qWidth, heads: c.heads, position: positions[i])
                    math.rope(k.baseAddress! + i * kvWidth, heads: c.kvHeads, position: positions[i])
                }
            }
        }
        cache.keys[layer] += ks
        cache.values[layer] += vs
        let attended = math.attention(
            batch: qs, n: n, keys: cache.keys[layer], values: cache.values[layer], visibility: visibility,
            threads: threads)
        DecoderMath.addRows(&x, product(o, attended), n: 1)
        let normed = math.rmsNormRows(x, ffnNorm, n: n)
        let gateUp = sharedInput([gate, up], normed)
        let act = DecoderMath.swiGLU(gateUp[0], gateUp[1])
        DecoderMath.addRows(&x, product(down, act), n: 1)
    }

    /// Checks every weight's shape against the config, naming the tensor (`blk.N.`-prefixed).
    func checkShapes(prefix p: String, config: ModelConfig, check: ShapeCheck) throws {
        let h = config.hidden, qw = config.heads * config.headDim, kvw = config.kvHeads * config.headDim
        try check.vector(p + "attn_norm.weight", attnNorm, count: h)
        try check.vector(p + "ffn_norm.weight", ffnNorm, count: h)
        try check.matrix(p + "attn_q.weight", q, rows: qw, cols: h)
        try check.matrix(p + "attn_k.weight", k, rows: kvw, cols: h)
        try check.matrix(p + "attn_v.weight", v, rows: kvw, cols: h)
        try check.matrix(p + "attn_output.weight", o, rows: h, cols: qw)
        try check.vector(p + "attn_q.bias", qBias, count: qw)
        try check.vector(p + "attn_k.bias", kBias, count: kvw)
        try check.vector(p + "attn_v.bias", vBias, count: kvw)
        try check.matrix(p + "ffn_gate.weight", gate, rows: config.intermediate, cols: h)
        try check.matrix(p + "ffn_up.weight", up, rows: config.intermediate, cols: h)
        try check.matrix(p + "ffn_down.weight", down, rows: h, cols: config.intermediate)
    }
}

extension WeightSource {
    /// Decoder layer `index` of a converted file (`blk.<index>.*`); `inputNorm: false` for a HASS
    /// head, whose layer has none.
    func decoderBlock(_ index: Int, inputNorm: Bool = true) throws -> DecoderBlock {
        let p = "blk.\(index)."
        return DecoderBlock(
            attnNorm: inputNorm ? try matrix(p + "attn_norm.weight").vector() : nil,
            q: try matrix(p + "attn_q.weight"), k: try matrix(p + "attn_k.weight"),
            v: try matrix(p + "attn_v.weight"), o: try matrix(p + "attn_output.weight"),
            qBias: try optionalVector(p + "attn_q.bias"), kBias: try optionalVector(p + "attn_k.bias"),
            vBias: try optionalVector(p + "attn_v.bias"),
            ffnNorm: try matrix(p + "ffn_norm.weight").vector(),
            gate: try matrix(p + "ffn_gate.weight"), up: try matrix(p + "ffn_up.weight"),
            down: try matrix(p + "ffn_down.weight"))
    }
}
