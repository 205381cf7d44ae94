import Foundation
import StrictJSON

/// Writes a DeepSeek-V3-shaped FP8 checkpoint of any size to disk, shard by shard (FP8 E4M3
/// weights with F32 `weight_scale_inv` blocks, BF16 norms and embeddings, all layers dense with
/// MLA attention), the layout `Scripts/gen_fp8_shards.py` writes. Only the layout and the sizes
/// matter, so the bytes are a cheap pattern with no NaN code; memory stays at one tensor.
public enum FP8CheckpointGenerator {
    public struct Shape: Sendable {
        public var layers: Int
        public var hidden = 1024
        public var ffn = 3072
        public var vocab = 4096

        public init(layers: Int, hidden: Int = 1024, ffn: Int = 3072, vocab: Int = 4096) {
            self.layers = layers
            self.hidden = hidden
            self.ffn = ffn
            self.vocab = vocab
        }

        /// The largest matrix, in f32 bytes (what a converter may hold at once).
        public var largestTensorF32Bytes: Int { max(ffn * hidden, vocab * hidden) * 4 }
    }

    struct Tensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var count: Int { shape.reduce(1, *) * (dtype == "F32" ? 4 : dtype == "BF16" ? 2 : 1) }
    }

    /// Writes the checkpoint into `dir`; returns the bytes of tensor data written.
    @discardableResult
    public static func write(to dir: String, shape s: Shape) throws -> Int {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let heads = 8, qLora = 384, kvLora = 256, nope = 64, rope = 32, v = 64
        var weightMap: [(String, JSONValue)] = []
        var total = 0
        let shards = s.layers + 1
        for shard in 0..<shards {
            var tensors: [Tensor] = []
            func fp8(_ name: String, _ rows: Int, _ cols: Int) {
                tensors.append(Tensor(name: name, dtype: "F8_E4M3", shape: [rows, cols]))
                tensors.append(
                    Tensor(name: name + "_scale_inv", dtype: "F32", shape: [(rows + 127) / 128, (cols + 127) / 128]))
            }
            func bf16(_ name: String, _ shape: [Int]) {
                tensors.append(Tensor(name: name, dtype: "BF16", shape: shape))
            }
            if shard == 0 { bf16("model.embed_tokens.weight", [s.vocab, s.hidden]) }
            if shard < s.layers {
                let p = "model.layers.\(shard)."
                bf16(p + "input_layernorm.weight", [s.hidden])
                bf16(p + "post_attention_layernorm.weight", [s.hidden])
                fp8(p + "self_attn.q_a_proj.weight", qLora, s.hidden)
                bf16(p + "self_attn.q_a_layernorm.weight", [qLora])
                fp8(p + "self_attn.q_b_proj.weight", heads * (nope + rope), qLora)
                fp8(p + "self_attn.kv_a_proj_with_mqa.weight", kvLora + rope, s.hidden)
                bf16(p + "self_attn.kv_a_layernorm.weight", [kvLora])
                fp8(p + "self_attn.kv_b_proj.weight", heads * (nope + v), kvLora)
                fp8(p + "self_attn.o_proj.weight", s.hidden, heads * v)
                fp8(p + "mlp.gate_proj.weight", s.ffn, s.hidden)
                fp8(p + "mlp.up_proj.weight", s.ffn, s.hidden)
                fp8(p + "mlp.down_proj.weight", s.hidden, s.ffn)
            }
            if shard == shards - 1 {
                bf16("model.norm.weight", [s.hidden])
                bf16("lm_head.weight", [s.vocab, s.hidden])
            }
            let name = String(format: "model-%05d-of-%06d.safetensors", shard + 1, shards)
            total += try writeShard(dir + "/" + name, tensors)
            weightMap += tensors.map { ($0.name, .string(name)) }
        }
        let index = JSONValue.object([("metadata", .object([])), ("weight_map", .object(weightMap))])
        try Data(index.serialized().utf8).write(to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
        let config = JSONValue.object([
            ("architectures", .array([.string("DeepseekV3ForCausalLM")])), ("model_type", .string("deepseek_v3")),
            ("hidden_size", .int(s.hidden)), ("intermediate_size", .int(s.ffn)), ("num_hidden_layers", .int(s.layers)),
            ("num_attention_heads", .int(heads)), ("num_key_value_heads", .int(heads)), ("vocab_size", .int(s.vocab)),
            ("q_lora_rank", .int(qLora)), ("kv_lora_rank", .int(kvLora)), ("qk_nope_head_dim", .int(nope)),
            ("qk_rope_head_dim", .int(rope)), ("v_head_dim", .int(v)), ("first_k_dense_replace", .int(s.layers)),
            ("n_routed_experts", .int(8)), ("num_experts_per_tok", .int(2)), ("n_group", .int(1)),
            ("topk_group", .int(1)),
            ("moe_intermediate_size", .int(256)), ("n_shared_experts", .int(1)), ("rms_norm_eps", .double(1e-6)),
            ("rope_theta", .int(10000)), ("max_position_embeddings", .int(4096)), ("num_nextn_predict_layers", .int(0)),
            ("torch_dtype", .string("bfloat16")),
            (
                "quantization_config",
                .object([
                    ("activation_scheme", .string("dynamic")), ("fmt", .string("e4m3")),
                    ("quant_method", .string("fp8")), ("weight_block_size", .array([.int(128), .int(128)])),
                ])
            ),
        ])
        try Data(config.serialized().utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        return total
    }

    /// One shard: the header, then each tensor's bytes from a repeating pattern chosen per dtype
    /// (FP8 codes without 0x7F/0xFF, small BF16 values, positive F32 scales near 1e-3).
    static func writeShard(_ path: String, _ tensors: [Tensor]) throws -> Int {
        var members: [(String, JSONValue)] = []
        var offset = 0
        for t in tensors {
            members.append(
                (
                    t.name,
                    .object([
                        ("dtype", .string(t.dtype)), ("shape", .array(t.shape.map { .int($0) })),
                        ("data_offsets", .array([.int(offset), .int(offset + t.count)])),
                    ])
                ))
            offset += t.count
        }
        var header = Array(JSONValue.object(members).serialized().utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: path) else { throw CocoaError(.fileWriteUnknown) }
        defer { try? h.close() }
        var length = UInt64(header.count).littleEndian
        try h.write(contentsOf: Data(bytes: &length, count: 8) + Data(header))
        for t in tensors {
            var left = t.count
            let block = patterns[t.dtype] ?? Data(count: 1 << 16)
            while left > 0 {
                let n = min(left, block.count)
                try h.write(contentsOf: block[0..<n])
                left -= n
            }
        }
        return offset
    }

    static let patterns = ["F8_E4M3": pattern("F8_E4M3"), "BF16": pattern("BF16"), "F32": pattern("F32")]

    static func pattern(_ dtype: String) -> Data {
        var g: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            g = g &* 6364136223846793005 &+ 1442695040888963407
            return g >> 33
        }
        var bytes: [UInt8] = []
        let size = 1 << 16
        bytes.reserveCapacity(size)
        switch dtype {
        case "F8_E4M3":
            while bytes.count < size {
                var c = UInt8(truncatingIfNeeded: next())
                if c & 0x7F == 0x7F { c ^= 0x01 }
                bytes.append(c)
            }
        case "BF16":
            while bytes.count < size {
                // ±(0.0039 … 0.031): exponent 0x3B..0x3C, random mantissa.
                let v = UInt16(0x3B80 | (next() & 0x7F)) | UInt16(next() & 1) << 15
                bytes.append(UInt8(v & 0xFF))
                bytes.append(UInt8(v >> 8))
            }
        default:
            while bytes.count < size {
                let f = Float(1e-3) * (0.5 + Float(next() & 0xFFFF) / 65536)
                withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
        }
        return Data(bytes)
    }
}
