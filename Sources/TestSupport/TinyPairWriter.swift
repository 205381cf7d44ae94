import Foundation
import Platform

/// Writes a random one-layer LLaMA base and a HASS head for it (the published layout's tensor
/// names, as safetensors) with any vocabulary size, so that a real tokenizer (150 k tokens) can
/// ride on a model small enough to convert and run in a test. The weights are seeded noise: the
/// output is meaningless, but speculative decoding must still reproduce plain decoding.
public enum TinyPairWriter {
    public static let hidden = 32
    static let heads = 2
    static let intermediate = 64

    /// Writes `base/` (config.json, model.safetensors) and `draft/` (config.json,
    /// model.safetensors) under `dir`.
    public static func write(to dir: String, vocabularySize vocab: Int, seed: UInt64 = 1) throws {
        var rng = SeededGenerator(seed: seed)
        func noise(_ count: Int, scale: Float = 0.08) -> [Float] {
            (0..<count).map { _ in Float.random(in: -scale...scale, using: &rng) }
        }
        let h = hidden
        let config = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": \(h),
             "intermediate_size": \(intermediate), "num_attention_heads": \(heads), "num_key_value_heads": \(heads),
             "num_hidden_layers": 1, "vocab_size": \(vocab), "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
             "max_position_embeddings": 4096, "hidden_act": "silu", "tie_word_embeddings": false, "bias": false,
             "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
            """
        func layer(_ b: inout SafetensorsBuilder, _ prefix: String, inputNorm: Bool) {
            if inputNorm { b.add(prefix + "input_layernorm.weight", shape: [h], floats: Array(repeating: 1, count: h)) }
            b.add(prefix + "post_attention_layernorm.weight", shape: [h], floats: Array(repeating: 1, count: h))
            for p in ["q", "k", "v", "o"] {
                b.add(prefix + "self_attn.\(p)_proj.weight", shape: [h, h], floats: noise(h * h))
            }
            b.add(prefix + "mlp.gate_proj.weight", shape: [intermediate, h], floats: noise(intermediate * h))
            b.add(prefix + "mlp.up_proj.weight", shape: [intermediate, h], floats: noise(intermediate * h))
            b.add(prefix + "mlp.down_proj.weight", shape: [h, intermediate], floats: noise(h * intermediate))
        }
        let embed = noise(vocab * h, scale: 0.5)
        var base = SafetensorsBuilder()
        base.add("model.embed_tokens.weight", shape: [vocab, h], floats: embed)
        layer(&base, "model.layers.0.", inputNorm: true)
        base.add("model.norm.weight", shape: [h], floats: Array(repeating: 1, count: h))
        base.add("lm_head.weight", shape: [vocab, h], floats: noise(vocab * h, scale: 0.5))
        var draft = SafetensorsBuilder()
        draft.add("embed_tokens.weight", shape: [vocab, h], floats: embed)
        draft.add("fc.weight", shape: [h, 2 * h], floats: noise(2 * h * h))
        layer(&draft, "layers.0.", inputNorm: false)
        for (name, builder) in [("base", base), ("draft", draft)] {
            try FileSystem.createDirectory(dir + "/" + name)
            try Data(config.utf8).write(to: URL(fileURLWithPath: dir + "/\(name)/config.json"))
            try Data(builder.build()).write(to: URL(fileURLWithPath: dir + "/\(name)/model.safetensors"))
        }
    }

    /// Writes a random HASS head (the published layout, as safetensors, without an embedding: the
    /// head reads its base's) for a base of any shape into `dir` (config.json, model.safetensors).
    /// `config` is the base's config.json text, which a HASS head repeats. The head's guesses are
    /// noise, so τ stays near 1, but a check with it must still reproduce plain decoding.
    public static func writeHead(
        to dir: String, config: String, hidden h: Int, heads: Int, kvHeads: Int, intermediate: Int,
        seed: UInt64 = 1
    ) throws {
        var rng = SeededGenerator(seed: seed)
        func noise(_ count: Int, scale: Float = 0.02) -> [Float] {
            (0..<count).map { _ in Float.random(in: -scale...scale, using: &rng) }
        }
        let kv = h / heads * kvHeads
        var b = SafetensorsBuilder()
        b.add("fc.weight", shape: [h, 2 * h], floats: noise(2 * h * h))
        b.add("layers.0.post_attention_layernorm.weight", shape: [h], floats: Array(repeating: 1, count: h))
        for (p, rows) in [("q", h), ("k", kv), ("v", kv), ("o", h)] {
            b.add("layers.0.self_attn.\(p)_proj.weight", shape: [rows, h], floats: noise(rows * h))
        }
        b.add("layers.0.mlp.gate_proj.weight", shape: [intermediate, h], floats: noise(intermediate * h))
        b.add("layers.0.mlp.up_proj.weight", shape: [intermediate, h], floats: noise(intermediate * h))
        b.add("layers.0.mlp.down_proj.weight", shape: [h, intermediate], floats: noise(h * intermediate))
        try FileSystem.createDirectory(dir)
        try Data(config.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        try Data(b.build()).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
    }
}
