// Port of transformers' DeepSeek-V3 MTP module (shared_head, eh_proj, enorm/hnorm) as SGLang
// chains NextN steps; compared in MTPDraftTests.

import Foundation
import WeightFormat

/// DeepSeek's multi-token-prediction layer as a draft (hass-spec §2.2), the one HASS retrained
/// for DeepSeek-R1: for a pair (feature hₜ, token xₜ₊₁),
/// u = eh_proj([enorm(E xₜ₊₁); hnorm(hₜ)]), v = one DeepSeek decoder layer (MLA + MoE) over the
/// pairs, and the draft's feature and logits are shared_head.norm(v) and shared_head.head of it.
/// The normed feature is what the next draft level takes in place of the base's post-norm
/// hidden state, as SGLang chains NextN steps. The embedding and head default to the base's
/// when the draft file carries none (`convert --layers mtp --draft-of BASE`).
public final class MTPDraft: FeatureDraft {
    public let base: DeepSeekModel
    let layer: DeepSeekModel.Layer
    let eNorm: [Float], hNorm: [Float], headNorm: [Float]
    let ehProj: WeightMatrix
    let embedding: WeightMatrix
    let head: WeightMatrix

    /// Opens a draft holding one MTP layer: a DeepSeek checkpoint converted with `--layers mtp`
    /// (tensors `blk.N.*`, N = the base's layer count), or a NextN export converted whole (SGLang's
    /// layout, the layer as `blk.0.*`).
    public init(path: String, base: DeepSeekModel) throws {
        let f = try HKWFile(path: path)
        let indices = f.tensors.compactMap { e -> Int? in
            guard e.name.hasPrefix("blk."), e.name.hasSuffix(".nextn.eh_proj.weight") else { return nil }
            return Int(e.name.split(separator: ".")[1])
        }
        guard indices.count == 1, let n = indices.first else {
            throw InferenceError(
                indices.isEmpty
                    ? "no multi-token-prediction layer (blk.N.nextn.eh_proj.weight); convert the DeepSeek checkpoint with --layers mtp"
                    : "several multi-token-prediction layers (\(indices.sorted())); keep one with --layers", path: path,
                kind: .incompatible)
        }
        let p = "blk.\(n).nextn."
        self.base = base
        let w = WeightSource(file: f, activations: base.activations)
        layer = try DeepSeekModel.layer(w, n, config: base.config)
        eNorm = try w.vector(p + "enorm.weight")
        hNorm = try w.vector(p + "hnorm.weight")
        headNorm = try w.vector(p + "shared_head_norm.weight")
        ehProj = try w.matrix(p + "eh_proj.weight")
        embedding = w.has(p + "embed_tokens.weight") ? try w.matrix(p + "embed_tokens.weight") : base.embedding
        head = w.has(p + "shared_head_head.weight") ? try w.matrix(p + "shared_head_head.weight") : base.output
        let h = base.config.hidden
        let check = ShapeCheck(path: path, kind: .incompatible)
        try check.matrix(p + "eh_proj.weight", ehProj, rows: h, cols: 2 * h)
        try check.matrix("embedding", embedding, rows: max(embedding.rows, base.config.vocab), cols: h)
        try check.matrix("head", head, rows: max(head.rows, base.config.vocab), cols: h)
    }

    public func makeCache() -> KVCache {
        let c = base.config
        return KVCache(layers: 1, width: c.heads * c.qkHead, valueWidth: c.heads * c.vHead)
    }

    public func forward(
        features: [[Float]], tokens: [Int], cache: KVCache, positions: [Int]? = nil,
        visible: [[Int]]? = nil
    ) -> (features: [[Float]], logits: [[Float]]) {
        let outFeatures = predict(
            features: features, tokens: tokens, cache: cache, positions: positions, visible: visible)
        return (outFeatures, outFeatures.map(logits(of:)))
    }

    public func extend(features: [[Float]], tokens: [Int], cache: KVCache) -> (feature: [Float], logits: [Float]) {
        guard let last = predict(features: features, tokens: tokens, cache: cache, positions: nil, visible: nil).last
        else { return ([], []) }
        return (last, logits(of: last))
    }

    /// The normed feature predicted for each pair, one pair after the other into the next slots
    /// of `cache`.
    func predict(
        features: [[Float]], tokens: [Int], cache: KVCache, positions: [Int]?, visible: [[Int]]?
    ) -> [[Float]] {
        var out: [[Float]] = []
        for (i, token) in tokens.enumerated() {
            let e = base.rmsNorm(embedding.row(token), eNorm), h = base.rmsNorm(features[i], hNorm)
            var x = ehProj.apply(e + h, threads: base.threads)
            base.layerStep(
                &x, layer, cacheLayer: 0, cache: cache, position: positions?[i] ?? cache.count, visible: visible?[i])
            cache.count += 1
            out.append(base.rmsNorm(x, headNorm))
        }
        return out
    }

    public func logits(of feature: [Float]) -> [Float] {
        var l = head.apply(feature, threads: base.threads)
        if l.count > base.config.vocab { l.removeLast(l.count - base.config.vocab) }
        return l
    }
}
