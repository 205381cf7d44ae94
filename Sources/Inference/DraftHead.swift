// Port of HASS model/cnets.py (Model: the EAGLE-1 head HASS trains); compared in DraftHeadTests.

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
    /// The head's one decoder layer, without an input norm.
    let layer: DecoderBlock
    let math: DecoderMath
    /// FR-Spec's draft vocabulary: the token ids the head may propose (ascending) and the base
    /// output head's rows for them; nil drafts over the whole vocabulary.
    let vocabulary: (ids: [Int], head: WeightMatrix)?

    /// Opens a converted head; its embedding is its own copy, or the base's when the converter
    /// found them equal and left it out.
    /// - Parameter draftVocabulary: token ids the head may propose (FR-Spec): each draft level
    ///   multiplies by their rows of the output head only, and the other tokens get −∞. Lossless:
    ///   verification still scores the whole vocabulary.
    public init(path: String, base: LlamaModel, draftVocabulary: [Int]? = nil) throws {
        let f = try HKWFile(path: path)
        guard f.architecture == .eagleHead else {
            throw InferenceError(
                "not an EAGLE/HASS draft head (architecture \(f.metadata["architecture"]?.stringValue ?? "none"))",
                path: path)
        }
        guard let c = f.metadata["config"] else { throw InferenceError("no config in the header", path: path) }
        config = try ModelConfig(json: c, path: path)
        self.base = base
        let w = WeightSource(file: f, activations: base.activations)
        embedding = w.has("token_embd.weight") ? try w.matrix("token_embd.weight") : base.embedding
        fc = try w.matrix("fc.weight")
        fcBias = try w.optionalVector("fc.bias")
        layer = try w.decoderBlock(0, inputNorm: false)
        math = DecoderMath(config: config)
        guard fc.cols == 2 * config.hidden, fc.rows == config.hidden, config.hidden == base.config.hidden else {
            throw InferenceError(
                "fc is \(fc.rows)×\(fc.cols); a head for hidden size \(base.config.hidden) needs \(base.config.hidden)×\(2 * base.config.hidden), so it was made for another base",
                path: path, kind: .incompatible)
        }
        // The head reads the base's vocabulary: its embedding rows are token ids of the base.
        try ShapeCheck(path: path, kind: .incompatible).matrix(
            "token_embd.weight", embedding, rows: base.config.vocab, cols: base.config.hidden)
        let check = ShapeCheck(path: path)
        try check.vector("fc.bias", fcBias, count: config.hidden)
        try layer.checkShapes(prefix: "blk.0.", config: config, check: check)
        if let ids = draftVocabulary {
            var kept = Set(ids.filter { $0 >= 0 && $0 < base.config.vocab })
            guard !kept.isEmpty else {
                throw InferenceError("the draft vocabulary is empty", path: path, kind: .malformed)
            }
            // Whole groups of 8 rows keep a row-interleaved head interleaved, so the kept tokens'
            // logits come from the same kernel, bit for bit: the lowest ids left out fill the gap.
            var next = 0
            while kept.count % 8 != 0 && kept.count < base.config.vocab {
                kept.insert(next)
                next += 1
            }
            let sorted = kept.sorted()
            vocabulary = (sorted, base.output.selectingRows(sorted))
        } else {
            vocabulary = nil
        }
    }

    /// The logits of n predicted features (row-major n × hidden) through the base's head: the
    /// whole vocabulary, or the draft vocabulary's rows with −∞ for every other token.
    func headLogits(_ out: [Float], n: Int) -> [[Float]] {
        let vocab = base.config.vocab
        guard let (ids, head) = vocabulary else {
            let logits =
                n == 1
                ? base.output.apply(out, threads: base.threads)
                : base.output.applyBatch(out, n: n, threads: base.threads)
            let rows = base.output.rows
            return (0..<n).map { Array(logits[($0 * rows)..<($0 * rows + min(rows, vocab))]) }
        }
        let sub = n == 1 ? head.apply(out, threads: base.threads) : head.applyBatch(out, n: n, threads: base.threads)
        return (0..<n).map { i in
            var l = [Float](repeating: -.infinity, count: vocab)
            for (j, id) in ids.enumerated() { l[id] = sub[i * ids.count + j] }
            return l
        }
    }

    public func makeCache() -> KVCache { KVCache(layers: 1, width: config.kvHeads * config.headDim) }

    /// One draft position: the pair (`feature` f_t, `token` x_{t+1}) at the next position of
    /// `cache`; returns the predicted feature and its logits through the base's head.
    public func step(
        feature: [Float], token: Int, cache: KVCache, position: Int? = nil, visible: [Int]? = nil
    ) -> (feature: [Float], logits: [Float]) {
        let threads = base.threads
        let slot = cache.count
        let position = position ?? slot
        var out = fc.apply(embedding.row(token) + feature, threads: threads)
        if let b = fcBias { for i in out.indices { out[i] += b[i] } }
        layer(
            &out, n: 1, positions: [position], visibility: visible.map { .slots([$0]) } ?? .causal(start: slot),
            cache: cache, layer: 0,
            math: math,
            threads: threads, products: .single)
        cache.count += 1
        return (out, headLogits(out, n: 1)[0])
    }

    /// Several draft positions in one pass (each weight read once for the batch): the pairs go
    /// to the next slots of `cache` in order.
    /// - Parameters:
    ///   - positions: RoPE positions (default: their slots).
    ///   - visible: per pair, the cache slots it attends to, itself included (default: causal).
    public func forward(
        features: [[Float]], tokens: [Int], cache: KVCache, positions: [Int]? = nil,
        visible: [[Int]]? = nil
    ) -> (features: [[Float]], logits: [[Float]]) {
        let n = tokens.count, h = config.hidden
        guard n > 0 else { return ([], []) }
        let out = predict(features: features, tokens: tokens, cache: cache, positions: positions, visible: visible)
        return ((0..<n).map { Array(out[($0 * h)..<(($0 + 1) * h)]) }, headLogits(out, n: n))
    }

    public func extend(features: [[Float]], tokens: [Int], cache: KVCache) -> (feature: [Float], logits: [Float]) {
        let n = tokens.count, h = config.hidden
        guard n > 0 else { return ([], []) }
        let last = Array(
            predict(features: features, tokens: tokens, cache: cache, positions: nil, visible: nil)[((n - 1) * h)...])
        return (last, logits(of: last))
    }

    /// The predicted features of n pairs (row-major n × hidden), their keys and values added to
    /// the next slots of `cache`.
    func predict(
        features: [[Float]], tokens: [Int], cache: KVCache, positions: [Int]?, visible: [[Int]]?
    ) -> [Float] {
        let n = tokens.count, h = config.hidden
        let slot0 = cache.count
        let pos = positions ?? Array(slot0..<(slot0 + n))
        let vis = visible.map(Visibility.slots) ?? .causal(start: slot0)
        var input: [Float] = []
        input.reserveCapacity(n * 2 * h)
        for i in 0..<n { input += embedding.row(tokens[i]) + features[i] }
        var z = fc.applyBatch(input, n: n, threads: base.threads)
        if let b = fcBias { for i in 0..<n { for j in 0..<h { z[i * h + j] += b[j] } } }
        var out = z
        layer(
            &out, n: n, positions: pos, visibility: vis, cache: cache, layer: 0, math: math, threads: base.threads,
            products: .batch)
        cache.count += n
        return out
    }

    /// Logits of a predicted feature through the base's head (HASS heads have no final norm).
    public func logits(of feature: [Float]) -> [Float] { headLogits(feature, n: 1)[0] }
}
