import Foundation
import Platform

/// Shape twins of the published pairs: `.hkw` files with the real models' names, types, shapes
/// and configs, whose data section is a hole in a sparse file. A 70 B base costs a few kilobytes
/// of disk, so what hasskit decides from headers alone (compatibility, the memory estimate) can
/// be tested at the real sizes. The bytes read as zeros and the tensor digests are placeholders:
/// nothing may compute with a twin.
public enum ShapeTwin {
    /// One published model's shape (its config.json's numbers).
    public struct Shape: Sendable {
        public var hidden: Int
        public var intermediate: Int
        public var layers: Int
        public var heads: Int
        public var kvHeads: Int
        public var vocab: Int
        public var ropeTheta: Int
        public var context: Int
        public var bos: Int
        public var eos: [Int]
        public var family = "llama"

        /// `meta-llama/Meta-Llama-3-70B-Instruct`.
        public static let llama3_70B = Shape(
            hidden: 8192, intermediate: 28672, layers: 80, heads: 64, kvHeads: 8, vocab: 128256, ropeTheta: 500_000,
            context: 8192, bos: 128000, eos: [128001, 128009])
        /// `meta-llama/Meta-Llama-3-8B-Instruct`.
        public static let llama3_8B = Shape(
            hidden: 4096, intermediate: 14336, layers: 32, heads: 32, kvHeads: 8, vocab: 128256, ropeTheta: 500_000,
            context: 8192, bos: 128000, eos: [128001, 128009])
        /// `meta-llama/Llama-2-13b-chat-hf`.
        public static let llama2_13B = Shape(
            hidden: 5120, intermediate: 13824, layers: 40, heads: 40, kvHeads: 40, vocab: 32000, ropeTheta: 10000,
            context: 4096, bos: 1, eos: [2])

        var config: String {
            """
            {"family": "\(family)", "hidden_size": \(hidden), "intermediate_size": \(intermediate), \
            "num_layers": \(layers), "num_heads": \(heads), "num_kv_heads": \(kvHeads), "head_dim": \(hidden / heads), \
            "vocab_size": \(vocab), "rms_norm_eps": 1e-05, "rope_theta": \(ropeTheta), "rope_scaling": null, \
            "max_position_embeddings": \(context), "tie_word_embeddings": false, "bos_token_id": \(bos), \
            "eos_token_ids": \(eos), "source_dtype": "bfloat16", "qkv_bias": false}
            """
        }

        /// One decoder layer's tensors as `blk.N.` names (a HASS head has no attn_norm).
        func layer(_ n: Int, inputNorm: Bool) -> [(String, String, [Int])] {
            let h = hidden, kv = hidden / heads * kvHeads
            var t: [(String, String, [Int])] = inputNorm ? [("blk.\(n).attn_norm.weight", "F32", [h])] : []
            t += [
                ("blk.\(n).attn_q.weight", "BF16", [h, h]), ("blk.\(n).attn_k.weight", "BF16", [kv, h]),
                ("blk.\(n).attn_v.weight", "BF16", [kv, h]), ("blk.\(n).attn_output.weight", "BF16", [h, h]),
                ("blk.\(n).ffn_norm.weight", "F32", [h]),
                ("blk.\(n).ffn_gate.weight", "BF16", [intermediate, h]),
                ("blk.\(n).ffn_up.weight", "BF16", [intermediate, h]),
                ("blk.\(n).ffn_down.weight", "BF16", [h, intermediate]),
            ]
            return t
        }
    }

    /// Writes the base as a BF16 `.hkw` twin.
    public static func writeBase(_ s: Shape, to path: String) throws {
        var tensors: [(String, String, [Int])] = [
            ("token_embd.weight", "BF16", [s.vocab, s.hidden]), ("output.weight", "BF16", [s.vocab, s.hidden]),
            ("output_norm.weight", "F32", [s.hidden]),
        ]
        for n in 0..<s.layers { tensors += s.layer(n, inputNorm: true) }
        try write(path: path, architecture: s.family, role: "base", config: s.config, tensors: tensors)
    }

    /// Writes a HASS head for the base as a BF16 `.hkw` twin (its embedding shared with the base).
    public static func writeHead(_ s: Shape, to path: String) throws {
        var head = s
        head.layers = 1
        let tensors = [("fc.weight", "BF16", [s.hidden, 2 * s.hidden])] + s.layer(0, inputNorm: false)
        try write(path: path, architecture: "eagle_head", role: "draft", config: head.config, tensors: tensors)
    }

    /// The container of docs/FORMAT.md around tensors whose bytes are left as a hole.
    static func write(
        path: String, architecture: String, role: String, config: String, tensors: [(String, String, [Int])]
    ) throws {
        var entries: [String] = []
        var offset: UInt64 = 0
        for (name, type, shape) in tensors {
            let length = UInt64(shape.reduce(1, *)) * (type == "F32" ? 4 : 2)
            entries.append(
                "{\"name\": \"\(name)\", \"type\": \"\(type)\", \"shape\": \(shape), \"offset\": \(offset), \"length\": \(length), \"sha256\": \"\(String(repeating: "0", count: 64))\"}"
            )
            offset = (offset + length + 63) / 64 * 64
        }
        let header = Array(
            """
            {"format": "hkw", "version": 1, "alignment": 64, \
            "metadata": {"architecture": "\(architecture)", "role": "\(role)", "config": \(config)}, \
            "tensors": [\(entries.joined(separator: ", "))], "files": []}
            """.utf8)
        let dataOffset = UInt64((64 + header.count + 16383) / 16384 * 16384)
        var preamble: [UInt8] = [0x89, 0x48, 0x4B, 0x57, 0x0D, 0x0A, 0x1A, 0x0A]
        func le(_ v: UInt64, _ bytes: Int) {
            for i in 0..<bytes { preamble.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
        }
        le(1, 4)
        le(0, 4)
        le(64, 8)
        le(UInt64(header.count), 8)
        le(dataOffset, 8)
        le(offset, 8)
        preamble += [UInt8](repeating: 0, count: 16)
        FileManager.default.createFile(atPath: path, contents: Data(preamble + header))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: dataOffset + offset)  // the hole: no block is written
        try handle.close()
    }
}

extension ShapeTwin {
    /// `deepseek-ai/DeepSeek-R1-Distill-Qwen-32B`.
    public static let qwen2_32B = Shape(
        hidden: 5120, intermediate: 27648, layers: 64, heads: 40, kvHeads: 8, vocab: 152064, ropeTheta: 1_000_000,
        context: 131072, bos: 151646, eos: [151643], family: "qwen2")
    /// `meta-llama/Llama-2-7b-chat-hf`.
    public static let llama2_7B = Shape(
        hidden: 4096, intermediate: 11008, layers: 32, heads: 32, kvHeads: 32, vocab: 32000, ropeTheta: 10000,
        context: 4096, bos: 1, eos: [2])

    /// The five published bases that take an EAGLE-1 HASS head, by manifest id.
    public static let headPairs: [(id: String, shape: Shape)] = [
        ("llama2-chat-7b", llama2_7B), ("llama2-chat-13b", .llama2_13B), ("llama3-instruct-8b", .llama3_8B),
        ("llama3-instruct-70b", .llama3_70B), ("deepseek-r1-distill-qwen-32b", qwen2_32B),
    ]

    /// The base as its hub repository holds it: config.json and BF16 safetensors shards of at
    /// most `shardBytes` with model.safetensors.index.json, under transformers' names.
    public static func writeCheckpoint(_ s: Shape, to dir: String, shardBytes: UInt64 = 5 << 30) throws {
        var tensors: [(String, String, [Int])] = [("model.embed_tokens.weight", "BF16", [s.vocab, s.hidden])]
        for n in 0..<s.layers { tensors += s.hfLayer("model.layers.\(n).", inputNorm: true) }
        tensors += [("model.norm.weight", "BF16", [s.hidden]), ("lm_head.weight", "BF16", [s.vocab, s.hidden])]
        var shards: [[(String, String, [Int])]] = [[]]
        var size: UInt64 = 0
        for t in tensors {
            let bytes = UInt64(t.2.reduce(1, *)) * 2
            if size + bytes > shardBytes, !shards[shards.count - 1].isEmpty {
                shards.append([])
                size = 0
            }
            shards[shards.count - 1].append(t)
            size += bytes
        }
        try FileSystem.createDirectory(dir)
        var map: [String] = []
        for (i, shard) in shards.enumerated() {
            let name = String(format: "model-%05d-of-%05d.safetensors", i + 1, shards.count)
            try writeSafetensors(dir + "/" + name, shard)
            map += shard.map { "\"\($0.0)\": \"\(name)\"" }
        }
        try Data("{\"metadata\": {}, \"weight_map\": {\(map.joined(separator: ", "))}}".utf8).write(
            to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
        try Data(s.hfConfig(layers: s.layers).utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
    }

    /// A HASS head in the published layout (`embed_tokens`, `fc`, `layers.0.*`; fc.bias for the
    /// LLaMA-2 and Qwen heads, whose configs have no `"bias": false`), as one BF16 safetensors file.
    public static func writeHeadCheckpoint(_ s: Shape, to dir: String) throws {
        let bias = s.family == "qwen2" || s.vocab == 32000
        var tensors: [(String, String, [Int])] = [
            ("embed_tokens.weight", "BF16", [s.vocab, s.hidden]), ("fc.weight", "BF16", [s.hidden, 2 * s.hidden]),
        ]
        if bias { tensors.append(("fc.bias", "BF16", [s.hidden])) }
        tensors += s.hfLayer("layers.0.", inputNorm: false)
        try FileSystem.createDirectory(dir)
        try writeSafetensors(dir + "/model.safetensors", tensors)
        try Data(s.hfConfig(layers: 1, bias: bias).utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
    }

    /// A safetensors file whose data is a hole.
    static func writeSafetensors(_ path: String, _ tensors: [(String, String, [Int])]) throws {
        var entries: [String] = []
        var offset: UInt64 = 0
        for (name, dtype, shape) in tensors {
            let end = offset + UInt64(shape.reduce(1, *)) * 2
            entries.append(
                "\"\(name)\": {\"dtype\": \"\(dtype)\", \"shape\": \(shape), \"data_offsets\": [\(offset), \(end)]}")
            offset = end
        }
        var header = Array("{\(entries.joined(separator: ", "))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * $0)) }
        bytes += header
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(bytes.count) + offset)
        try handle.close()
    }
}

extension ShapeTwin.Shape {
    /// One layer under transformers' names (Qwen2's q/k/v carry biases).
    func hfLayer(_ prefix: String, inputNorm: Bool) -> [(String, String, [Int])] {
        let h = hidden, kv = hidden / heads * kvHeads
        var t: [(String, String, [Int])] = inputNorm ? [(prefix + "input_layernorm.weight", "BF16", [h])] : []
        t += [
            (prefix + "self_attn.q_proj.weight", "BF16", [h, h]),
            (prefix + "self_attn.k_proj.weight", "BF16", [kv, h]),
            (prefix + "self_attn.v_proj.weight", "BF16", [kv, h]),
            (prefix + "self_attn.o_proj.weight", "BF16", [h, h]),
            (prefix + "post_attention_layernorm.weight", "BF16", [h]),
            (prefix + "mlp.gate_proj.weight", "BF16", [intermediate, h]),
            (prefix + "mlp.up_proj.weight", "BF16", [intermediate, h]),
            (prefix + "mlp.down_proj.weight", "BF16", [h, intermediate]),
        ]
        if family == "qwen2" {
            t += [
                (prefix + "self_attn.q_proj.bias", "BF16", [h]), (prefix + "self_attn.k_proj.bias", "BF16", [kv]),
                (prefix + "self_attn.v_proj.bias", "BF16", [kv]),
            ]
        }
        return t
    }

    /// The config.json of the published model (or of its HASS head, with one layer).
    func hfConfig(layers: Int, bias: Bool? = nil) -> String {
        let architecture = family == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"
        let eosValue = eos.count == 1 ? "\(eos[0])" : "\(eos)"
        return """
            {"architectures": ["\(architecture)"], "model_type": "\(family)", "hidden_size": \(hidden), \
            "intermediate_size": \(intermediate), "num_hidden_layers": \(layers), "num_attention_heads": \(heads), \
            "num_key_value_heads": \(kvHeads), "vocab_size": \(vocab), "rms_norm_eps": 1e-05, \
            "rope_theta": \(ropeTheta), "max_position_embeddings": \(context), "bos_token_id": \(bos), \
            "eos_token_id": \(eosValue), "tie_word_embeddings": false, "torch_dtype": "bfloat16", \
            "hidden_act": "silu"\(bias.map { ", \"bias\": \($0)" } ?? "")}
            """
    }
}
