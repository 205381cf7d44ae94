/// Maps checkpoint tensor names to hasskit's canonical names (short, ggml-style; every one fits
/// in 63 bytes). The full table is in `docs/FORMAT.md`. A name no rule matches is an error: a
/// checkpoint with unexpected tensors is not silently half-converted.
public enum NameMap {
    /// The canonical name of `name` in a checkpoint of `family`; nil when the tensor is not part
    /// of that family (the caller reports it), "" when it is known and deliberately dropped.
    public static func canonical(_ name: String, family: ModelFamily) -> String? {
        var n = name
        // FP8 block scales follow their weight.
        if n.hasSuffix(".weight_scale_inv") {
            let weight = String(n.dropLast("_scale_inv".count))
            guard let c = canonical(weight, family: family), !c.isEmpty else { return nil }
            return c + "_scale_inv"
        }
        if n.hasSuffix(".rotary_emb.inv_freq") { return "" }  // recomputed from rope_theta
        switch family {
        case .eagleHead:
            switch n {
            case "embed_tokens.weight": return "token_embd.weight"
            case "fc.weight": return "fc.weight"
            case "fc.bias": return "fc.bias"
            default:
                guard n.hasPrefix("layers.0.") else { return nil }
                let rest = String(n.dropFirst("layers.0.".count))
                // HASS heads have no input_layernorm on their only layer.
                if rest.hasPrefix("input_layernorm") { return nil }
                return layer(rest).map { "blk.0." + $0 }
            }
        case .llama, .qwen2, .deepseekV3:
            switch n {
            case "model.embed_tokens.weight": return "token_embd.weight"
            case "model.norm.weight": return "output_norm.weight"
            case "lm_head.weight": return "output.weight"
            default: break
            }
            guard n.hasPrefix("model.layers.") else { return nil }
            n.removeFirst("model.layers.".count)
            guard let dot = n.firstIndex(of: "."), let index = Int(n[..<dot]), index >= 0 else { return nil }
            let rest = String(n[n.index(after: dot)...])
            let mapped = family == .deepseekV3 ? deepseekLayer(rest) : layer(rest)
            return mapped.map { "blk.\(index).\($0)" }
        }
    }

    /// LLaMA / Qwen2 decoder-layer tensors.
    static func layer(_ rest: String) -> String? {
        let table: [String: String] = [
            "input_layernorm.weight": "attn_norm.weight",
            "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
            "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
            "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
            "self_attn.o_proj.weight": "attn_output.weight",
            "post_attention_layernorm.weight": "ffn_norm.weight",
            "mlp.gate_proj.weight": "ffn_gate.weight",
            "mlp.up_proj.weight": "ffn_up.weight",
            "mlp.down_proj.weight": "ffn_down.weight",
        ]
        return table[rest]
    }

    /// DeepSeek-V3 decoder-layer tensors (MLA attention, dense or MoE MLP) and the MTP extras.
    static func deepseekLayer(_ rest: String) -> String? {
        let table: [String: String] = [
            "input_layernorm.weight": "attn_norm.weight",
            "self_attn.q_proj.weight": "attn_q.weight",
            "self_attn.q_a_proj.weight": "attn_q_a.weight",
            "self_attn.q_a_layernorm.weight": "attn_q_a_norm.weight",
            "self_attn.q_b_proj.weight": "attn_q_b.weight",
            "self_attn.kv_a_proj_with_mqa.weight": "attn_kv_a_mqa.weight",
            "self_attn.kv_a_layernorm.weight": "attn_kv_a_norm.weight",
            "self_attn.kv_b_proj.weight": "attn_kv_b.weight",
            "self_attn.o_proj.weight": "attn_output.weight",
            "post_attention_layernorm.weight": "ffn_norm.weight",
            "mlp.gate_proj.weight": "ffn_gate.weight",
            "mlp.up_proj.weight": "ffn_up.weight",
            "mlp.down_proj.weight": "ffn_down.weight",
            "mlp.gate.weight": "ffn_gate_inp.weight",
            "mlp.gate.e_score_correction_bias": "exp_probs_b.bias",
            "mlp.shared_experts.gate_proj.weight": "ffn_gate_shexp.weight",
            "mlp.shared_experts.up_proj.weight": "ffn_up_shexp.weight",
            "mlp.shared_experts.down_proj.weight": "ffn_down_shexp.weight",
            // Multi-token-prediction (NextN) layer, stored as layer num_hidden_layers.
            "enorm.weight": "nextn.enorm.weight",
            "hnorm.weight": "nextn.hnorm.weight",
            "eh_proj.weight": "nextn.eh_proj.weight",
            "embed_tokens.weight": "nextn.embed_tokens.weight",
            "shared_head.norm.weight": "nextn.shared_head_norm.weight",
            "shared_head.head.weight": "nextn.shared_head_head.weight",
        ]
        if let t = table[rest] { return t }
        // Routed experts: mlp.experts.<e>.<gate|up|down>_proj.weight → ffn_<kind>_exps.<e>.weight
        let parts = rest.split(separator: ".")
        if parts.count == 5, parts[0] == "mlp", parts[1] == "experts", let e = Int(parts[2]), e >= 0,
            parts[4] == "weight"
        {
            switch parts[3] {
            case "gate_proj": return "ffn_gate_exps.\(e).weight"
            case "up_proj": return "ffn_up_exps.\(e).weight"
            case "down_proj": return "ffn_down_exps.\(e).weight"
            default: return nil
            }
        }
        return nil
    }
}
