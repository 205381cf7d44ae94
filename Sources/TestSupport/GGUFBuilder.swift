import Platform

/// Builds GGUF images in memory (version 3 by default), for tests of the reader: valid files and,
/// by changing fields afterwards or by hand, hostile ones.
public struct GGUFBuilder {
    public enum Value {
        case u32(UInt32)
        case i32(Int32)
        case f32(Float)
        case bool(Bool)
        case string(String)
        case strings([String])
        case i32s([Int32])
        case f32s([Float])
    }

    public var version: UInt32 = 3
    public var alignment = 32
    public var metadata: [(String, Value)] = []
    /// Name, shape in HF order (outermost first), ggml type number, bytes.
    public var tensors: [(name: String, shape: [Int], type: UInt32, bytes: [UInt8])] = []

    public init() {}

    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func string(_ s: String) -> [UInt8] { u64(UInt64(s.utf8.count)) + Array(s.utf8) }

    static func encode(_ v: Value) -> [UInt8] {
        switch v {
        case let .u32(x): return u32(4) + u32(x)
        case let .i32(x): return u32(5) + u32(UInt32(bitPattern: x))
        case let .f32(x): return u32(6) + u32(x.bitPattern)
        case let .bool(b): return u32(7) + [b ? 1 : 0]
        case let .string(s): return u32(8) + string(s)
        case let .strings(a): return u32(9) + u32(8) + u64(UInt64(a.count)) + a.flatMap(string)
        case let .i32s(a): return u32(9) + u32(5) + u64(UInt64(a.count)) + a.flatMap { u32(UInt32(bitPattern: $0)) }
        case let .f32s(a): return u32(9) + u32(6) + u64(UInt64(a.count)) + a.flatMap { u32($0.bitPattern) }
        }
    }

    /// The file image.
    public func build() -> [UInt8] {
        var out =
            Array("GGUF".utf8) + Self.u32(version) + Self.u64(UInt64(tensors.count)) + Self.u64(UInt64(metadata.count))
        for (k, v) in metadata { out += Self.string(k) + Self.encode(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset = (offset + t.bytes.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            out += Self.string(t.name) + Self.u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { out += Self.u64(UInt64(d)) }
            out += Self.u32(t.type) + Self.u64(UInt64(o))
        }
        while out.count % alignment != 0 { out.append(0) }
        let start = out.count
        for (t, o) in zip(tensors, offsets) {
            while out.count < start + o { out.append(0) }
            out += t.bytes
        }
        return out
    }
}

extension GGUFBuilder {
    /// A one-layer llama written as llama.cpp's converter writes it (q and k rows permuted per
    /// head, GGUF names, dims innermost first).
    /// - Parameter q8Projections: store the attention and MLP matrices as random Q8_0 blocks
    ///   (their HF values are then left out of `hf`: decode them with the reader under test).
    public static func tinyLlama(
        heads: Int = 4, kvHeads: Int = 2, headDim: Int = 8, q8Projections: Bool = false
    ) -> (gguf: [UInt8], hf: [String: [Float]]) {
        let hidden = heads * headDim
        var rng = SeededGenerator(seed: 9)
        func noise(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &rng) } }
        let vocab = 40
        var hf: [String: [Float]] = [
            "model.embed_tokens.weight": noise(vocab * hidden), "model.norm.weight": noise(hidden),
            "model.layers.0.input_layernorm.weight": noise(hidden),
            "model.layers.0.post_attention_layernorm.weight": noise(hidden),
            "model.layers.0.self_attn.q_proj.weight": noise(hidden * hidden),
            "model.layers.0.self_attn.k_proj.weight": noise(kvHeads * headDim * hidden),
            "model.layers.0.self_attn.v_proj.weight": noise(kvHeads * headDim * hidden),
            "model.layers.0.self_attn.o_proj.weight": noise(hidden * hidden),
            "model.layers.0.mlp.gate_proj.weight": noise(64 * hidden),
            "model.layers.0.mlp.up_proj.weight": noise(64 * hidden),
            "model.layers.0.mlp.down_proj.weight": noise(hidden * 64),
        ]
        // llama.cpp: w.reshape(n_head, 2, d/2, cols).swapaxes(1, 2): GGUF row (h, i, t) = HF row (h, t, i).
        func permute(_ w: [Float], groups: Int) -> [Float] {
            var out = w
            for h in 0..<groups {
                for i in 0..<(headDim / 2) {
                    for t in 0..<2 {
                        let to = (h * headDim + 2 * i + t) * hidden
                        let from = (h * headDim + t * (headDim / 2) + i) * hidden
                        out[to..<(to + hidden)] = w[from..<(from + hidden)]
                    }
                }
            }
            return out
        }
        func f32(_ v: [Float]) -> [UInt8] {
            v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } }
        }
        var b = GGUFBuilder()
        b.metadata = [
            ("general.architecture", .string("llama")), ("llama.embedding_length", .u32(UInt32(hidden))),
            ("llama.block_count", .u32(1)), ("llama.attention.head_count", .u32(UInt32(heads))),
            ("llama.attention.head_count_kv", .u32(UInt32(kvHeads))), ("llama.feed_forward_length", .u32(64)),
            ("llama.context_length", .u32(256)), ("llama.rope.freq_base", .f32(10000)),
            ("llama.attention.layer_norm_rms_epsilon", .f32(1e-5)),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.tokens", .strings((0..<vocab).map { $0 < 3 ? ["<s>", "</s>", "<pad>"][$0] : "t\($0)" })),
            ("tokenizer.ggml.token_type", .i32s((0..<vocab).map { $0 < 3 ? 3 : 1 })),
            ("tokenizer.ggml.merges", .strings([])), ("tokenizer.ggml.bos_token_id", .u32(0)),
            ("tokenizer.ggml.eos_token_id", .u32(1)),
            ("tokenizer.chat_template", .string("{{ messages[0]['content'] }}")),
        ]
        let ggufNames = [
            "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
            "model.layers.0.input_layernorm.weight": "blk.0.attn_norm.weight",
            "model.layers.0.post_attention_layernorm.weight": "blk.0.ffn_norm.weight",
            "model.layers.0.self_attn.q_proj.weight": "blk.0.attn_q.weight",
            "model.layers.0.self_attn.k_proj.weight": "blk.0.attn_k.weight",
            "model.layers.0.self_attn.v_proj.weight": "blk.0.attn_v.weight",
            "model.layers.0.self_attn.o_proj.weight": "blk.0.attn_output.weight",
            "model.layers.0.mlp.gate_proj.weight": "blk.0.ffn_gate.weight",
            "model.layers.0.mlp.up_proj.weight": "blk.0.ffn_up.weight",
            "model.layers.0.mlp.down_proj.weight": "blk.0.ffn_down.weight",
        ]
        for (name, values) in hf.sorted(by: { $0.key < $1.key }) {
            let rows =
                name.contains("norm")
                ? [hidden]
                : [values.count / (name.contains("down") ? 64 : hidden), name.contains("down") ? 64 : hidden]
            var v = values
            if name.hasSuffix("q_proj.weight") { v = permute(values, groups: heads) }
            if name.hasSuffix("k_proj.weight") { v = permute(values, groups: kvHeads) }
            if q8Projections && rows.count == 2 && name.contains("layers") {
                // Random Q8_0 blocks: an f16 scale (0.01…0.02) and 32 int8 values each.
                var blocks: [UInt8] = []
                for _ in 0..<(values.count / 32) {
                    let d = Float16(Float.random(in: 0.01...0.02, using: &rng)).bitPattern
                    blocks += [UInt8(d & 0xFF), UInt8(d >> 8)]
                    blocks += (0..<32).map { _ in UInt8(bitPattern: Int8.random(in: -127...127, using: &rng)) }
                }
                b.tensors.append((ggufNames[name]!, rows, 8, blocks))
                hf[name] = nil
            } else {
                b.tensors.append((ggufNames[name]!, rows, 0, f32(v)))
            }
        }
        return (b.build(), hf)
    }
}
