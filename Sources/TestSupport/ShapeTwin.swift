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
