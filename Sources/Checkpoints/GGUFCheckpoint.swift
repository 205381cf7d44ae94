import Platform
import StrictJSON

/// A GGUF model as the checkpoint its HF original was: tensors under their HF names with
/// llama.cpp's Q/K row permutation undone, the `config.json` its metadata describes, and the
/// tokenizer files (`tokenizer.json`, `tokenizer_config.json` with the chat template) rebuilt
/// from `tokenizer.ggml.*` as transformers' GGUF loader rebuilds them.
enum GGUFCheckpoint {
    static func open(view: ByteView, path: String) throws(CheckpointError) -> Checkpoint {
        let g = try GGUFFile(view: view, path: path)
        guard let arch = g.value("general.architecture")?.stringValue else {
            throw CheckpointError(.invalidHeader("GGUF has no general.architecture"), path: path)
        }
        guard arch == "llama" || arch == "qwen2" else {
            throw CheckpointError(
                .unrecognizedFormat("GGUF architecture \(arch) (hasskit converts llama and qwen2)"), path: path)
        }
        func int(_ key: String) -> Int? { g.value("\(arch).\(key)")?.intValue }
        guard let hidden = int("embedding_length"), let layers = int("block_count"),
            let heads = int("attention.head_count"),
            heads > 0, hidden % heads == 0
        else {
            throw CheckpointError(
                .invalidHeader("GGUF lacks \(arch).embedding_length, block_count or attention.head_count"), path: path)
        }
        let kvHeads = int("attention.head_count_kv") ?? heads
        let headDim = int("attention.key_length") ?? hidden / heads
        var tensors: [Tensor] = []
        for info in g.tensors {
            guard let slice = view.slice(start: info.range.lowerBound, length: info.range.count) else {
                throw CheckpointError(.invalidOffsets(tensor: info.name, detail: "outside the file"), path: path)
            }
            var data = slice
            let name = hfName(info.name)
            // llama.cpp's converter interleaves the two rotary halves of each head in q and k.
            if arch == "llama", info.name.hasSuffix("attn_q.weight") || info.name.hasSuffix("attn_k.weight") {
                let groups = info.name.hasSuffix("attn_q.weight") ? heads : kvHeads
                guard let rows = info.shape.first, rows == groups * headDim, headDim % 2 == 0 else {
                    throw CheckpointError(
                        .invalidShape(
                            tensor: info.name, detail: "\(info.shape) is not \(groups) heads of \(headDim) rows"),
                        path: path)
                }
                data = unpermuteRows(slice, rows: rows, heads: groups)
            }
            tensors.append(
                Tensor(
                    name: name, dtype: DType(ggml: info.type), shape: info.shape, file: path, layout: .contiguous(data))
            )
        }
        tensors.sort { $0.name < $1.name }
        for (a, b) in zip(tensors, tensors.dropFirst()) where a.name == b.name {
            throw CheckpointError(.badTensorName("two GGUF tensors map to \(a.name)"), path: path)
        }
        let tied = !tensors.contains { $0.name == "lm_head.weight" }
        let vocab =
            int("vocab_size") ?? g.value("tokenizer.ggml.tokens")?.arrayValue?.count
            ?? tensors.first { $0.name == "model.embed_tokens.weight" }?.shape.first ?? 0
        var config: [(String, JSONValue)] = [
            ("architectures", .array([.string(arch == "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM")])),
            ("model_type", .string(arch)),
            ("hidden_size", .int(hidden)),
            ("intermediate_size", .int(int("feed_forward_length") ?? 0)),
            ("num_hidden_layers", .int(layers)),
            ("num_attention_heads", .int(heads)),
            ("num_key_value_heads", .int(kvHeads)),
            ("head_dim", .int(headDim)),
            ("vocab_size", .int(vocab)),
            ("max_position_embeddings", .int(int("context_length") ?? 2048)),
            ("rms_norm_eps", .double(g.value("\(arch).attention.layer_norm_rms_epsilon")?.doubleValue ?? 1e-6)),
            ("rope_theta", .double(g.value("\(arch).rope.freq_base")?.doubleValue ?? 10000)),
            ("tie_word_embeddings", .bool(tied)),
            ("hidden_act", .string("silu")),
            ("torch_dtype", .string("float32")),
        ]
        for (key, gguf) in [
            ("bos_token_id", "bos_token_id"), ("eos_token_id", "eos_token_id"), ("pad_token_id", "padding_token_id"),
        ] {
            if let id = g.value("tokenizer.ggml.\(gguf)")?.intValue { config.append((key, .int(id))) }
        }
        var generated: [(String, [UInt8])] = [("config.json", Array(JSONValue.object(config).serialized().utf8))]
        if let tokenizer = try GGUFTokenizer.tokenizerJSON(g, path: path) {
            generated.append(("tokenizer.json", Array(tokenizer.serialized().utf8)))
        }
        generated.append(("tokenizer_config.json", Array(GGUFTokenizer.tokenizerConfig(g).serialized().utf8)))
        var metadata: [String: String] = ["format": "gguf", "gguf.version": String(g.version)]
        for (k, v) in g.metadata where k.hasPrefix("general.") {
            if let s = v.stringValue { metadata[k] = s } else if let i = v.intValue { metadata[k] = String(i) }
        }
        return Checkpoint(
            path: path, format: .gguf, tensors: tensors, metadata: metadata, files: [path],
            config: .object(config), generatedFiles: generated)
    }

    /// GGUF's tensor names as the HF checkpoint spells them (others are kept as they are).
    static func hfName(_ name: String) -> String {
        let fixed = [
            "token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
            "output.weight": "lm_head.weight",
        ]
        if let f = fixed[name] { return f }
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]) else { return name }
        let inner = [
            "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
            "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
            "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
        ]
        let pieces = parts[2].split(separator: ".", maxSplits: 1).map(String.init)
        guard let mapped = inner[pieces[0]] else { return name }
        return "model.layers.\(layer).\(mapped)" + (pieces.count > 1 ? "." + pieces[1] : "")
    }

    /// Rows in HF order from llama.cpp's: within each head, GGUF row `2i + t` is HF row
    /// `t · d/2 + i` (d the head's rows). Rows are whole blocks, so bytes move as they are.
    static func unpermuteRows(_ data: ByteView, rows: Int, heads: Int) -> ByteView {
        let rowBytes = data.count / rows
        let d = rows / heads
        var out = [UInt8](repeating: 0, count: data.count)
        data.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                for h in 0..<heads {
                    for i in 0..<(d / 2) {
                        for t in 0..<2 {
                            let from = (h * d + 2 * i + t) * rowBytes
                            let to = (h * d + t * (d / 2) + i) * rowBytes
                            dst.baseAddress!.advanced(by: to).copyMemory(
                                from: src.baseAddress!.advanced(by: from), byteCount: rowBytes)
                        }
                    }
                }
            }
        }
        return ByteView(out, label: "unpermuted rows")
    }
}
