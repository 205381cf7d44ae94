// Port of transformers src/transformers/models/deepseek_v3/modeling_deepseek_v3.py
// (DeepseekV3ForCausalLM: MLA, sigmoid-routed MoE, YaRN); compared in DeepSeekReferenceTests.

import Foundation
import StrictJSON
import WeightFormat

/// The hyper-parameters of a DeepSeek-V3/R1 model (hass-spec §2.6), from the `.hkw` header.
public struct DeepSeekConfig: Sendable {
    public var hidden: Int
    public var layers: Int
    public var heads: Int
    public var vocab: Int
    public var intermediate: Int
    public var qLoraRank: Int?
    public var kvLoraRank: Int
    public var qkNope: Int
    public var qkRope: Int
    public var vHead: Int
    public var experts: Int
    public var sharedExperts: Int
    public var expertsPerToken: Int
    public var moeIntermediate: Int
    public var firstDense: Int
    public var groups: Int
    public var topkGroups: Int
    public var normTopkProb: Bool
    public var routedScaling: Float
    public var rmsEps: Float
    public var ropeTheta: Double
    /// The positions the model was trained for (`max_position_embeddings`), nil when unknown.
    public var contextLength: Int?
    /// YaRN: factor, original context, beta_fast, beta_slow, mscale, mscale_all_dim.
    public var yarn:
        (factor: Double, original: Double, betaFast: Double, betaSlow: Double, mscale: Double, mscaleAllDim: Double)?

    public var qkHead: Int { qkNope + qkRope }

    public init(json c: JSONValue, path: String) throws {
        func int(_ k: String) throws -> Int {
            guard let v = c[k]?.intValue, v > 0 else { throw InferenceError("config has no positive \(k)", path: path) }
            return v
        }
        hidden = try int("hidden_size")
        layers = try int("num_layers")
        heads = try int("num_heads")
        vocab = try int("vocab_size")
        intermediate = try int("intermediate_size")
        qLoraRank = c["q_lora_rank"]?.intValue
        kvLoraRank = try int("kv_lora_rank")
        qkNope = try int("qk_nope_head_dim")
        qkRope = try int("qk_rope_head_dim")
        vHead = try int("v_head_dim")
        experts = c["n_routed_experts"]?.intValue ?? 0
        sharedExperts = c["n_shared_experts"]?.intValue ?? 0
        expertsPerToken = c["num_experts_per_tok"]?.intValue ?? 0
        moeIntermediate = c["moe_intermediate_size"]?.intValue ?? 0
        firstDense = c["first_k_dense_replace"]?.intValue ?? 0
        groups = max(1, c["n_group"]?.intValue ?? 1)
        topkGroups = max(1, c["topk_group"]?.intValue ?? 1)
        normTopkProb = c["norm_topk_prob"]?.boolValue ?? true
        routedScaling = Float(c["routed_scaling_factor"]?.doubleValue ?? 1)
        rmsEps = Float(c["rms_norm_eps"]?.doubleValue ?? 1e-6)
        ropeTheta = c["rope_theta"]?.doubleValue ?? 10000
        contextLength = c["max_position_embeddings"]?.intValue.flatMap { $0 > 0 ? $0 : nil }
        guard qkRope % 2 == 0, experts == 0 || (experts % groups == 0 && expertsPerToken > 0) else {
            throw InferenceError("rope dim \(qkRope) / experts \(experts) in \(groups) groups do not fit", path: path)
        }
        if let s = c["rope_scaling"], !s.isNull {
            let type = s["rope_type"]?.stringValue ?? s["type"]?.stringValue ?? ""
            guard type == "yarn" else {
                throw InferenceError("rope_scaling type \(type) is not supported for DeepSeek", path: path)
            }
            yarn = (
                s["factor"]?.doubleValue ?? 1, s["original_max_position_embeddings"]?.doubleValue ?? 4096,
                s["beta_fast"]?.doubleValue ?? 32, s["beta_slow"]?.doubleValue ?? 1,
                s["mscale"]?.doubleValue ?? 1, s["mscale_all_dim"]?.doubleValue ?? 0
            )
        }
    }

    /// Inverse frequencies of the rotary part, with YaRN's blend of interpolated and extrapolated
    /// frequencies applied at every length (as transformers does).
    public func inverseFrequencies() -> [Float] {
        let dim = Double(qkRope)
        let base = (0..<(qkRope / 2)).map { 1 / pow(ropeTheta, Double(2 * $0) / dim) }
        guard let y = yarn, y.factor > 1 else { return base.map { Float($0) } }
        func correctionDim(_ rotations: Double) -> Double {
            dim * log(y.original / (rotations * 2 * .pi)) / (2 * log(ropeTheta))
        }
        let low = max(floor(correctionDim(y.betaFast)), 0), high = min(ceil(correctionDim(y.betaSlow)), dim - 1)
        let span = high == low ? 0.001 : high - low
        return base.enumerated().map { i, f in
            let ramp = min(max((Double(i) - low) / span, 0), 1)
            let extrapolation = 1 - ramp
            return Float(f / y.factor * (1 - extrapolation) + f * extrapolation)
        }
    }

    /// YaRN's cos/sin magnitude (1 unless mscale and mscale_all_dim differ).
    public var ropeAttentionFactor: Float {
        guard let y = yarn, y.factor > 1 else { return 1 }
        func m(_ s: Double) -> Double { s <= 0 ? 1 : 0.1 * s * log(y.factor) + 1 }
        return Float(y.mscale > 0 && y.mscaleAllDim > 0 ? m(y.mscale) / m(y.mscaleAllDim) : m(1))
    }

    /// The attention softmax scale: 1/√(qk head), times mscale² under YaRN.
    public var softmaxScale: Float {
        var s = 1 / Double(qkHead).squareRoot()
        if let y = yarn, y.factor > 1, y.mscaleAllDim > 0 {
            let m = 0.1 * y.mscaleAllDim * log(y.factor) + 1
            s *= m * m
        }
        return Float(s)
    }
}

/// DeepSeek-V3/R1 (MLA attention, sigmoid-routed MoE with group-limited top-k, YaRN RoPE on
/// interleaved pairs) over a converted `.hkw`, in f32, one position at a time: made to be checked
/// against transformers on the tiny fixture and to run the MTP layer, not for speed (the real
/// model is 671 B parameters). FP8 weights are dequantized when the model opens.
public final class DeepSeekModel: CausalModel {
    public let config: DeepSeekConfig
    public let path: String
    public var threads: Int

    /// The attention and MLP of one decoder layer (also the MTP layer's).
    struct Layer {
        var attnNorm: [Float]
        var qA: WeightMatrix?, qANorm: [Float]?, qB: WeightMatrix
        var kvA: WeightMatrix, kvANorm: [Float], kvB: WeightMatrix
        var o: WeightMatrix
        var ffnNorm: [Float]
        var dense: (gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix)?
        var router: WeightMatrix?, routerBias: [Float]?
        var experts: [(gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix)]
        var shared: (gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix)?
    }

    let embedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: [Float]
    let layers: [Layer]
    let inverseFrequencies: [Float]
    let file: HKWFile

    /// What the quantized products multiply (the MTP draft opened on this base follows it).
    public let activations: Activations

    /// Opens a converted DeepSeek-V3 model from its opened file (`Models.openBase` opens it by path).
    public init(file f: HKWFile, threads: Int, activations: Activations = .default) throws {
        (file, path, self.threads, self.activations) = (f, f.path, threads, activations)
        guard
            f.architecture == .deepseekV3
                || f.metadata["config"]?["family"]?.stringValue == HKWArchitecture.deepseekV3.rawValue
        else {
            throw InferenceError(
                "not a DeepSeek-V3 model (architecture \(f.metadata["architecture"]?.stringValue ?? "none"))",
                path: path)
        }
        guard let c = f.metadata["config"] else { throw InferenceError("no config in the header", path: path) }
        let cfg = try DeepSeekConfig(json: c, path: path)
        config = cfg
        let w = WeightSource(file: f, activations: activations)
        embedding = try w.matrix("token_embd.weight")
        output = try w.matrix("output.weight")
        outputNorm = try w.vector("output_norm.weight")
        layers = try (0..<cfg.layers).map { try Self.layer(w, $0, config: cfg) }
        inverseFrequencies = cfg.inverseFrequencies()
    }

    static func layer(_ w: WeightSource, _ i: Int, config c: DeepSeekConfig) throws -> Layer {
        let p = "blk.\(i)."
        let m = w.matrix
        func mlp(_ kind: String) throws -> (WeightMatrix, WeightMatrix, WeightMatrix) {
            (
                try m(p + "ffn_gate\(kind).weight"), try m(p + "ffn_up\(kind).weight"),
                try m(p + "ffn_down\(kind).weight")
            )
        }
        let hasQA = w.has(p + "attn_q_a.weight")
        let moe = w.has(p + "ffn_gate_inp.weight")
        return Layer(
            attnNorm: try m(p + "attn_norm.weight").vector(),
            qA: hasQA ? try m(p + "attn_q_a.weight") : nil,
            qANorm: hasQA ? try m(p + "attn_q_a_norm.weight").vector() : nil,
            qB: try m(p + (hasQA ? "attn_q_b.weight" : "attn_q.weight")),
            kvA: try m(p + "attn_kv_a_mqa.weight"), kvANorm: try m(p + "attn_kv_a_norm.weight").vector(),
            kvB: try m(p + "attn_kv_b.weight"),
            o: try m(p + "attn_output.weight"), ffnNorm: try m(p + "ffn_norm.weight").vector(),
            dense: moe ? nil : try mlp(""),
            router: moe ? try m(p + "ffn_gate_inp.weight") : nil,
            routerBias: moe ? try w.optionalVector(p + "exp_probs_b.bias") : nil,
            experts: moe
                ? try (0..<c.experts).map { e in
                    (
                        try m(p + "ffn_gate_exps.\(e).weight"), try m(p + "ffn_up_exps.\(e).weight"),
                        try m(p + "ffn_down_exps.\(e).weight")
                    )
                } : [],
            shared: moe && c.sharedExperts > 0 ? try mlp("_shexp") : nil)
    }

    /// Keys hold each head's [nope | rope] (the rope part shared by all heads), values each head's v.
    public var vocabularySize: Int { config.vocab }
    public var contextLength: Int? { config.contextLength }

    public func makeCache() -> KVCache {
        KVCache(layers: config.layers, width: config.heads * config.qkHead, valueWidth: config.heads * config.vHead)
    }

    func rmsNorm(_ x: [Float], _ w: [Float]) -> [Float] { DecoderMath.rmsNorm(x, w, eps: config.rmsEps) }

    /// RoPE on interleaved pairs (x₂ᵢ, x₂ᵢ₊₁) of `v[offset..<offset+qkRope]`.
    func rope(_ v: inout [Float], offset: Int, position: Int) {
        let factor = config.ropeAttentionFactor
        for i in 0..<(config.qkRope / 2) {
            let angle = Float(position) * inverseFrequencies[i]
            let cs = cos(angle) * factor, sn = sin(angle) * factor
            let a = v[offset + 2 * i], b = v[offset + 2 * i + 1]
            v[offset + 2 * i] = a * cs - b * sn
            v[offset + 2 * i + 1] = b * cs + a * sn
        }
    }

    func swiglu(_ x: [Float], _ w: (gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix)) -> [Float] {
        DecoderMath.mlp(x, gate: w.gate, up: w.up, down: w.down, threads: threads)
    }

    /// Sigmoid scores; choice by score + correction bias within the best `topk_group` groups
    /// (a group's score: the sum of its two best); weights are the plain scores of the chosen
    /// experts, normalised, times `routed_scaling_factor`. Returns (expert, weight) pairs.
    func route(_ x: [Float], _ layer: Layer) -> [(Int, Float)] {
        let c = config
        guard let router = layer.router else { return [] }
        let logits = router.apply(x, threads: threads)
        let scores = logits.map { 1 / (1 + exp(-$0)) }
        let choice = scores.indices.map { scores[$0] + (layer.routerBias?[$0] ?? 0) }
        let perGroup = c.experts / c.groups
        let groupScores = (0..<c.groups).map { g -> Float in
            let s = choice[(g * perGroup)..<((g + 1) * perGroup)].sorted(by: >)
            return s.prefix(2).reduce(0, +)
        }
        let keptGroups = Set(
            groupScores.indices.sorted {
                groupScores[$0] > groupScores[$1] || (groupScores[$0] == groupScores[$1] && $0 < $1)
            }.prefix(c.topkGroups))
        // Experts of dropped groups score 0 (transformers masks with 0, not −∞).
        let masked = choice.indices.map { keptGroups.contains($0 / perGroup) ? choice[$0] : 0 }
        let chosen = masked.indices.sorted { masked[$0] > masked[$1] || (masked[$0] == masked[$1] && $0 < $1) }.prefix(
            c.expertsPerToken)
        var weights = chosen.map { scores[$0] }
        if c.normTopkProb {
            let sum = weights.reduce(0, +) + 1e-20
            weights = weights.map { $0 / sum }
        }
        return zip(chosen, weights.map { $0 * c.routedScaling }).map { ($0, $1) }
    }

    /// One decoder layer for the token at `position`, whose keys and values go to the next slot.
    func layerStep(
        _ x: inout [Float], _ layer: Layer, cacheLayer l: Int, cache: KVCache, position: Int, visible: [Int]?
    ) {
        let c = config, nh = c.heads, qk = c.qkHead
        let h = rmsNorm(x, layer.attnNorm)
        var q: [Float]
        if let qA = layer.qA, let norm = layer.qANorm {
            q = layer.qB.apply(rmsNorm(qA.apply(h, threads: threads), norm), threads: threads)
        } else {
            q = layer.qB.apply(h, threads: threads)
        }
        let kvA = layer.kvA.apply(h, threads: threads)
        let latent = rmsNorm(Array(kvA[0..<c.kvLoraRank]), layer.kvANorm)
        var kPE = Array(kvA[c.kvLoraRank..<(c.kvLoraRank + c.qkRope)])
        rope(&kPE, offset: 0, position: position)
        let kv = layer.kvB.apply(latent, threads: threads)  // per head: [k_nope | v]
        var keys = [Float](repeating: 0, count: nh * qk), values = [Float](repeating: 0, count: nh * c.vHead)
        for head in 0..<nh {
            rope(&q, offset: head * qk + c.qkNope, position: position)
            let base = head * (c.qkNope + c.vHead)
            for i in 0..<c.qkNope { keys[head * qk + i] = kv[base + i] }
            for i in 0..<c.qkRope { keys[head * qk + c.qkNope + i] = kPE[i] }
            for i in 0..<c.vHead { values[head * c.vHead + i] = kv[base + c.qkNope + i] }
        }
        cache.keys[l] += keys
        cache.values[l] += values
        let slots = visible ?? Array(0..<(cache.keys[l].count / (nh * qk)))
        let scale = c.softmaxScale
        var attended = [Float](repeating: 0, count: nh * c.vHead)
        for head in 0..<nh {
            var scores = slots.map { p -> Float in
                var s: Float = 0
                for i in 0..<qk { s += q[head * qk + i] * cache.keys[l][p * nh * qk + head * qk + i] }
                return s * scale
            }
            let m = scores.max() ?? 0
            var sum: Float = 0
            for j in scores.indices { scores[j] = exp(scores[j] - m); sum += scores[j] }
            for (j, p) in slots.enumerated() {
                let w = scores[j] / sum
                for i in 0..<c.vHead {
                    attended[head * c.vHead + i] += w * cache.values[l][p * nh * c.vHead + head * c.vHead + i]
                }
            }
        }
        let o = layer.o.apply(attended, threads: threads)
        DecoderMath.addRows(&x, o, n: 1)
        let h2 = rmsNorm(x, layer.ffnNorm)
        var y: [Float]
        if let dense = layer.dense {
            y = swiglu(h2, dense)
        } else {
            y = layer.shared.map { swiglu(h2, $0) } ?? [Float](repeating: 0, count: c.hidden)
            for (e, w) in route(h2, layer) {
                let out = swiglu(h2, layer.experts[e])
                for i in y.indices { y[i] += w * out[i] }
            }
        }
        DecoderMath.addRows(&x, y, n: 1)
    }

    /// Runs one token; returns the post-norm hidden state and the logits.
    @discardableResult
    public func step(
        token: Int, cache: KVCache, position: Int? = nil, visible: [Int]? = nil
    ) -> (hidden: [Float], logits: [Float]) {
        precondition(token >= 0 && token < embedding.rows, "token \(token) outside the vocabulary")
        let position = position ?? cache.count
        var x = embedding.row(token)
        for (l, layer) in layers.enumerated() {
            layerStep(&x, layer, cacheLayer: l, cache: cache, position: position, visible: visible)
        }
        cache.count += 1
        let hidden = rmsNorm(x, outputNorm)
        var logits = output.apply(hidden, threads: threads)
        if logits.count > config.vocab { logits.removeLast(logits.count - config.vocab) }
        return (hidden, logits)
    }

    public func prefill(tokens: [Int], cache: KVCache) -> (hidden: [[Float]], logits: [Float]) {
        let r = forward(tokens: tokens, cache: cache, positions: nil, visible: nil)
        return (r.hidden, r.logits.last ?? [])
    }

    /// Several tokens, one position at a time (this engine is for checking, not speed).
    public func forward(
        tokens: [Int], cache: KVCache, positions: [Int]? = nil, visible: [[Int]]? = nil
    ) -> (hidden: [[Float]], logits: [[Float]]) {
        var hidden: [[Float]] = [], logits: [[Float]] = []
        for (i, t) in tokens.enumerated() {
            let r = step(token: t, cache: cache, position: positions?[i], visible: visible?[i])
            hidden.append(r.hidden)
            logits.append(r.logits)
        }
        return (hidden, logits)
    }
}
