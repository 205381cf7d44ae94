import Checkpoints
import Foundation
import Platform
import StrictJSON

/// EAGLE-1/HASS heads (hass-spec §1) for SGLang and vLLM (handoff.md §2 and §4).
///
/// - SGLang loads `LlamaForCausalLMEagle` / `Qwen2ForCausalLMEagle`, always allocates `fc.bias`
///   (zeros are written for heads without one: sglang #5773) and takes the embedding and head
///   from the target.
/// - vLLM (V1) loads a plain `LlamaForCausalLM` (it has no Qwen2 EAGLE-1 class), rejects extra
///   tensors and has no `fc.bias`: a bias is folded exactly into q/k/v/o biases
///   (q += Wq·b, k += Wk·b, v += Wv·b, o_proj.bias = b; the attention weights sum to one, so v's
///   bias passes through), checked on hasskit's f32 reference of the layer before anything is
///   written, and refused when the check fails.
enum HeadExport {
    static let required = [
        "fc.weight", "layers.0.self_attn.q_proj.weight", "layers.0.self_attn.k_proj.weight",
        "layers.0.self_attn.v_proj.weight", "layers.0.self_attn.o_proj.weight", "layers.0.mlp.gate_proj.weight",
        "layers.0.mlp.up_proj.weight", "layers.0.mlp.down_proj.weight", "layers.0.post_attention_layernorm.weight",
    ]
    static let optional = [
        "fc.bias", "layers.0.self_attn.q_proj.bias", "layers.0.self_attn.k_proj.bias",
        "layers.0.self_attn.v_proj.bias", "embed_tokens.weight",
    ]
    static let qkv = ["q", "k", "v"]

    static func plan(
        _ r: Exporter.Request, base: JSONValue, draftConfig: JSONValue, draft: Checkpoint
    ) throws -> ExportPlan {
        // Tensors by their HASS names (a `model.` prefix some copies carry is dropped).
        var byName: [String: Tensor] = [:]
        for t in draft.tensors {
            let name = t.name.hasPrefix("model.") ? String(t.name.dropFirst(6)) : t.name
            guard required.contains(name) || optional.contains(name) || name == "lm_head.weight" else {
                throw ExportError(
                    "tensor \(t.name) is not part of an EAGLE-1/HASS head (fc, one decoder layer without input norm, embed_tokens)",
                    location: r.draft)
            }
            byName[name] = t
        }
        for name in required where byName[name] == nil {
            throw ExportError("the head has no \(name)", location: r.draft)
        }
        let family = base["model_type"]?.stringValue ?? "llama"
        guard ["llama", "qwen2"].contains(family) else {
            throw ExportError(
                "base model_type \(family): EAGLE-1 heads are exported for LLaMA and Qwen2 bases", location: r.base)
        }
        let hidden = base["hidden_size"]?.intValue ?? 0
        let vocab = base["vocab_size"]?.intValue ?? 0
        let fc = byName["fc.weight"]!
        guard fc.shape == [hidden, 2 * hidden] else {
            throw ExportError(
                "this head was made for a model of hidden size \(fc.shape.first ?? 0) (fc.weight is \(fc.shape)); the base's hidden size is \(hidden): it is a head for another base",
                location: r.draft, kind: .incompatible)
        }
        if let v = draftConfig["vocab_size"]?.intValue, v != vocab {
            throw ExportError(
                "the head was made for a vocabulary of \(v) tokens, the base has \(vocab): it is a head for another base",
                location: r.draft + "/config.json", kind: .incompatible)
        }
        let (dtype, dtypeName) = try Exporter.dtype(of: base, location: r.base + "/config.json")
        var notes: [String] = [], warnings: [String] = []

        // The embedding copy: both engines use the target's, so it is dropped once it is shown
        // to be the base's (a head trained on another embedding would silently change meaning).
        if let embed = byName["embed_tokens.weight"] {
            let same = try embeddingEqualsBase(embed, baseFolder: r.base)
            notes.append(
                same
                    ? "embed_tokens dropped: equal to the base's embedding (the engine uses the base's)"
                    : "embed_tokens dropped: the engine uses the base's embedding")
            if !same {
                warnings.append(
                    "the head's embed_tokens differs from the base's; the engine will use the base's, as HASS's own code does not"
                )
            }
        }

        // Config: the head's, corrected for the engine.
        let maxPositions = max(
            base["max_position_embeddings"]?.intValue ?? 0, draftConfig["max_position_embeddings"]?.intValue ?? 0)
        var config: [(String, JSONValue)] = []
        let dropped: Set<String> = [
            "bias", "architectures", "model_type", "num_hidden_layers", "vocab_size", "max_position_embeddings",
            "torch_dtype", "dtype", "tie_word_embeddings", "qkv_bias", "attention_bias",
        ]
        for (k, v) in draftConfig.objectMembers ?? [] where !dropped.contains(k) { config.append((k, v)) }
        if draftConfig["max_position_embeddings"]?.intValue ?? 0 < maxPositions {
            notes.append(
                "max_position_embeddings raised from \(draftConfig["max_position_embeddings"]?.intValue ?? 0) to the base's \(maxPositions) (a RoPE table size for the head: lossless)"
            )
        }
        if draftConfig["bias"] != nil {
            notes.append("the config's \"bias\" key removed (vLLM reads it as attention bias)")
        }
        if config.first(where: { $0.0 == "rope_theta" }) == nil,
            let theta = base["rope_theta"] ?? base["rope_parameters"]?["rope_theta"]
        {
            config.append(("rope_theta", theta))
        }

        var values: [String: () throws -> [Float]] = [:]
        for (name, t) in byName { values[name] = { try Exporter.floats(t, location: r.draft) } }
        var names = required
        var foldCheck: Double?
        let hasQKVBias = byName["layers.0.self_attn.q_proj.bias"] != nil
        let hasFCBias = byName["fc.bias"] != nil
        let qkvBiasNames = qkv.map { "layers.0.self_attn.\($0)_proj.bias" }
        switch r.engine {
        case .sglang:
            config =
                [
                    (
                        "architectures",
                        .array([.string(family == "qwen2" ? "Qwen2ForCausalLMEagle" : "LlamaForCausalLMEagle")])
                    ),
                    ("model_type", .string(family)),
                ] + config
            names.insert("fc.bias", at: 1)
            if !hasFCBias {
                values["fc.bias"] = { [Float](repeating: 0, count: hidden) }
                notes.append(
                    "fc.bias written as zeros: SGLang always allocates it and would leave it uninitialised (sglang #5773)"
                )
            }
            if family == "qwen2" {
                names += qkvBiasNames
                for (i, n) in qkvBiasNames.enumerated() where byName[n] == nil {
                    let rows = byName["layers.0.self_attn.\(qkv[i])_proj.weight"]!.shape[0]
                    values[n] = { [Float](repeating: 0, count: rows) }
                    notes.append("\(n) written as zeros: SGLang's Qwen2 attention always has q/k/v biases")
                }
            }
        case .vllm:
            config =
                [("architectures", .array([.string("LlamaForCausalLM")])), ("model_type", .string("llama"))] + config
            if family == "qwen2" {
                notes.append("declared as LlamaForCausalLM: vLLM has no Qwen2 EAGLE-1 class (the math is the same)")
            }
            if hasFCBias {
                let folded = try fold(byName: byName, location: r.draft)
                foldCheck = try checkFold(
                    original: byName, folded: folded, config: draftConfig, base: base, location: r.draft)
                guard let check = foldCheck, check <= 1e-5 else {
                    throw ExportError(
                        "folding fc.bias into the attention biases changes the head's output by \(foldCheck ?? .nan) (relative) on random inputs, more than 1e-5; not exporting for vLLM (use --engine sglang)",
                        location: r.draft, kind: .incompatible)
                }
                for (n, v) in folded { values[n] = { v } }
                names += qkvBiasNames + ["layers.0.self_attn.o_proj.bias"]
                config.append(("attention_bias", .bool(true)))
                notes.append(
                    "fc.bias folded into q/k/v/o_proj biases (vLLM's fc has no bias); checked on hasskit's f32 reference of the layer: max relative difference \(String(format: "%.1e", check))"
                )
            } else if hasQKVBias {
                names += qkvBiasNames
                config.append(("qkv_bias", .bool(true)))
            }
            warnings.append("vLLM drafts a chain of tokens, not HASS's dynamic tree: expect a lower τ than published")
        }
        config += [
            ("num_hidden_layers", .int(1)), ("vocab_size", .int(vocab)),
            ("max_position_embeddings", .int(maxPositions)),
            ("torch_dtype", .string(dtypeName)), ("tie_word_embeddings", .bool(false)),
        ]
        if dtype != .f32 && byName["fc.weight"]?.dtype == .f32 {
            notes.append("weights stored as \(dtypeName), the base's dtype (the head file is float32)")
        }

        let entries: [SafetensorsWriter.Entry] = try names.map { name in
            let shape: [Int]
            if let t = byName[name], !(r.engine == .vllm && qkvBiasNames.contains(name) && hasFCBias) {
                shape = t.shape
            } else if name == "layers.0.self_attn.o_proj.bias" || name == "fc.bias" {
                shape = [hidden]
            } else if let w = byName[name.replacingOccurrences(of: ".bias", with: ".weight")] {
                shape = [w.shape[0]]
            } else {
                throw ExportError("no shape for \(name)", location: r.draft)
            }
            guard let produce = values[name] else { throw ExportError("no values for \(name)", location: r.draft) }
            return SafetensorsWriter.Entry(name: name, dtype: dtype, shape: shape) {
                Exporter.encode(try produce(), as: dtype)
            }
        }
        let launch = LaunchPlan(
            engine: r.engine, kind: "eagle1-head", base: r.baseReference, draft: r.out + "/draft", dtype: dtypeName,
            tree: r.tree, nodes: r.nodes, gpusPerNode: r.gpusPerNode)
        return ExportPlan(
            engine: r.engine, kind: "eagle1-head", config: .object(config), tensors: entries, writesIndex: false,
            notes: notes, warnings: warnings + launch.warnings, launch: launch, foldCheck: foldCheck)
    }

    /// q/k/v biases += W·b and o_proj.bias = b, in f32.
    static func fold(byName: [String: Tensor], location: String) throws -> [String: [Float]] {
        let b = try Exporter.floats(byName["fc.bias"]!, location: location)
        var out: [String: [Float]] = ["layers.0.self_attn.o_proj.bias": b]
        for p in qkv {
            let w = byName["layers.0.self_attn.\(p)_proj.weight"]!
            let values = try Exporter.floats(w, location: location)
            let rows = w.shape[0], cols = w.shape[1]
            var bias =
                try byName["layers.0.self_attn.\(p)_proj.bias"].map { try Exporter.floats($0, location: location) }
                ?? [Float](repeating: 0, count: rows)
            for r in 0..<rows {
                var s: Double = 0
                for c in 0..<cols { s += Double(values[r * cols + c]) * Double(b[c]) }
                bias[r] += Float(s)
            }
            out["layers.0.self_attn.\(p)_proj.bias"] = bias
        }
        return out
    }

    /// The largest relative difference between the original head and the folded one on a few
    /// positions of random embeddings and features.
    static func checkFold(
        original: [String: Tensor], folded: [String: [Float]], config: JSONValue, base: JSONValue, location: String
    ) throws -> Double {
        var tensors: [String: [Float]] = [:]
        for (name, t) in original where name != "embed_tokens.weight" && name != "lm_head.weight" {
            tensors[name] = try Exporter.floats(t, location: location)
        }
        let hidden = base["hidden_size"]?.intValue ?? 0
        let heads = config["num_attention_heads"]?.intValue ?? base["num_attention_heads"]?.intValue ?? 1
        let reference = HeadLayerReference(
            tensors: tensors, hidden: hidden, heads: heads, kvHeads: config["num_key_value_heads"]?.intValue ?? heads,
            intermediate: original["layers.0.mlp.gate_proj.weight"]?.shape[0] ?? 0,
            ropeTheta: config["rope_theta"]?.doubleValue ?? base["rope_theta"]?.doubleValue ?? 10000,
            rmsEps: Float(config["rms_norm_eps"]?.doubleValue ?? 1e-6))
        var foldedReference = reference
        foldedReference.tensors["fc.bias"] = nil
        for (n, v) in folded { foldedReference.tensors[n] = v }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
        let positions = 4
        let embeddings = (0..<positions).map { _ in (0..<hidden).map { _ in random() * 0.05 } }
        let features = (0..<positions).map { _ in (0..<hidden).map { _ in random() * 2 } }
        let a = reference.forward(embeddings: embeddings, features: features)
        let b = foldedReference.forward(embeddings: embeddings, features: features)
        var worst = 0.0
        for t in 0..<positions {
            let scale = Double(a[t].map(abs).max() ?? 1)
            let diff = zip(a[t], b[t]).map { Double(abs($0 - $1)) }.max() ?? 0
            worst = max(worst, diff / max(scale, 1e-30))
        }
        return worst
    }

    /// Whether the head's embedding is the base's (the same values, or the base's cast to the
    /// head's dtype), compared in bands so that a 128k-row embedding never sits in memory as f32.
    static func embeddingEqualsBase(_ embed: Tensor, baseFolder: String) throws -> Bool {
        let base = try Checkpoint.open(baseFolder)
        guard let b = base.tensor(named: "model.embed_tokens.weight"), b.shape == embed.shape else { return false }
        let rows = embed.shape[0], cols = embed.shape.count > 1 ? embed.shape[1] : 1
        let band = max(1, (1 << 20) / max(cols, 1))
        let hd = embed.contiguousData(), bd = b.contiguousData()
        let hw = embed.dtype.byteWidth ?? 4, bw = b.dtype.byteWidth ?? 4
        var r0 = 0
        while r0 < rows {
            let n = min(band, rows - r0)
            guard let hs = hd.slice(start: r0 * cols * hw, length: n * cols * hw),
                let bs = bd.slice(start: r0 * cols * bw, length: n * cols * bw)
            else { return false }
            let h = ElementDecoding.decode(hs, as: embed.dtype, count: n * cols)
            var v = ElementDecoding.decode(bs, as: b.dtype, count: n * cols)
            if embed.dtype != b.dtype, embed.dtype == .f16 || embed.dtype == .bf16 {
                // The head stores the base's values rounded to its own dtype.
                v = ElementDecoding.decode(
                    ByteView(Exporter.encode(v, as: embed.dtype)), as: embed.dtype, count: n * cols)
            }
            if h != v { return false }
            r0 += n
        }
        return true
    }
}
