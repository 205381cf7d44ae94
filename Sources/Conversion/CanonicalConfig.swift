import Checkpoints
import StrictJSON

/// The hyper-parameters the engine needs, read from `config.json` the way published checkpoints
/// write it (`rope_theta`, `rope_scaling`, `torch_dtype`) and the way transformers 5 writes it
/// (`rope_parameters`, `dtype`), with the defaults the reference code applies.
///
/// For HASS heads, `fc_bias` and `qkv_bias` are decided from the tensor names, not the config
/// (hass-spec §1.3: published configs and weights disagree).
enum CanonicalConfig {
    static func make(
        config: JSONValue?, family: ModelFamily, tensorNames: Set<String>, path: String
    ) throws -> JSONValue {
        guard let config, config.objectMembers != nil else {
            throw ConversionError(
                .config("missing; hasskit needs the model's config.json beside its weights"), path: path)
        }
        func int(_ key: String) -> Int? { config[key]?.intValue }
        func require(_ key: String) throws -> Int {
            guard let v = int(key), v > 0 else {
                throw ConversionError(.config("\(key) is missing or not a positive integer"), path: path)
            }
            return v
        }
        let hidden = try require("hidden_size")
        let heads = try require("num_attention_heads")
        let kvHeads = int("num_key_value_heads") ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw ConversionError(
                .config("num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kvHeads)"), path: path)
        }
        let headDim = int("head_dim") ?? hidden / heads
        var ropeTheta = config["rope_theta"]?.doubleValue
        var ropeScaling = config["rope_scaling"] ?? .null
        if let p = config["rope_parameters"], p.objectMembers != nil {
            ropeTheta = ropeTheta ?? p["rope_theta"]?.doubleValue
            if ropeScaling.isNull, let t = p["rope_type"]?.stringValue, t != "default" { ropeScaling = p }
        }
        var eos: [JSONValue] = []
        if let e = config["eos_token_id"] {
            eos = e.arrayValue ?? (e.isNull ? [] : [e])
        }
        var members: [(String, JSONValue)] = [
            ("family", .string(family.rawValue)),
            ("hidden_size", .int(hidden)),
            ("intermediate_size", .int(int("intermediate_size") ?? 0)),
            ("num_layers", .int(int("num_hidden_layers") ?? 0)),
            ("num_heads", .int(heads)),
            ("num_kv_heads", .int(kvHeads)),
            ("head_dim", .int(headDim)),
            ("vocab_size", .int(int("vocab_size") ?? 0)),
            ("rms_norm_eps", config["rms_norm_eps"] ?? .number("1e-06")),
            // LLaMA-2 configs have no rope_theta: the reference code then uses 10000.
            ("rope_theta", .double(ropeTheta ?? 10000)),
            ("rope_scaling", ropeScaling),
            ("max_position_embeddings", .int(int("max_position_embeddings") ?? 0)),
            ("tie_word_embeddings", .bool(config["tie_word_embeddings"]?.boolValue ?? false)),
            ("bos_token_id", config["bos_token_id"] ?? .null),
            ("eos_token_ids", .array(eos)),
            ("source_dtype", config["torch_dtype"] ?? config["dtype"] ?? .null),
        ]
        switch family {
        case .eagleHead:
            members.append(("fc_bias", .bool(tensorNames.contains("fc.bias"))))
            members.append(("qkv_bias", .bool(tensorNames.contains("layers.0.self_attn.q_proj.bias"))))
            members.append(("input_layernorm", .bool(false)))
            if let b = config["bias"]?.boolValue, b != tensorNames.contains("fc.bias") {
                members.append(
                    (
                        "note",
                        .string(
                            "config.json says bias=\(b) but the weights \(b ? "lack" : "have") fc.bias; the weights win"
                        )
                    ))
            }
        case .qwen2:
            members.append(("qkv_bias", .bool(true)))
        case .llama:
            members.append(("qkv_bias", .bool(tensorNames.contains("model.layers.0.self_attn.q_proj.bias"))))
        case .deepseekV3:
            for key in [
                "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "n_routed_experts",
                "n_shared_experts", "num_experts_per_tok", "moe_intermediate_size", "first_k_dense_replace", "n_group",
                "topk_group", "norm_topk_prob", "routed_scaling_factor", "scoring_func", "topk_method",
                "num_nextn_predict_layers", "moe_layer_freq",
            ] {
                if let v = config[key] { members.append((key, v)) }
            }
        }
        return .object(members)
    }
}
