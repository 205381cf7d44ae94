import StrictJSON

/// The tokenizer files a GGUF's `tokenizer.ggml.*` metadata describes, written the way
/// transformers' GGUF loader rebuilds them (for SmolLM2's GGUF the result equals the
/// `tokenizer.json` transformers exports from it). GGUF keeps the vocabulary, merges, token types
/// and special ids but not the split regex: `tokenizer.ggml.pre` names it, as llama.cpp reads it.
enum GGUFTokenizer {
    static let llama3Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static func byteLevel(useRegex: Bool) -> JSONValue {
        .object([
            ("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)),
            ("use_regex", .bool(useRegex)),
        ])
    }

    static func split(_ regex: String) -> JSONValue {
        .object([
            ("type", .string("Split")), ("pattern", .object([("Regex", .string(regex))])),
            ("behavior", .string("Isolated")), ("invert", .bool(false)),
        ])
    }

    /// `tokenizer.json`, or nil when the GGUF's tokenizer is not one hasskit rebuilds (the weights
    /// still convert; `run --prompt-ids` still works).
    static func tokenizerJSON(_ g: GGUFFile, path: String) throws(CheckpointError) -> JSONValue? {
        guard g.value("tokenizer.ggml.model")?.stringValue == "gpt2",
            let tokens = g.value("tokenizer.ggml.tokens")?.arrayValue?.map({ $0.stringValue ?? "" })
        else { return nil }
        let types = g.value("tokenizer.ggml.token_type")?.arrayValue?.map { $0.intValue ?? 1 } ?? []
        let merges = g.value("tokenizer.ggml.merges")?.arrayValue?.compactMap(\.stringValue) ?? []
        var normalizer: JSONValue = .null
        var ignoreMerges = false
        let pre: JSONValue
        switch g.value("tokenizer.ggml.pre")?.stringValue ?? "default" {
        case "default", "gpt-2", "gpt2", "smollm":
            pre = byteLevel(useRegex: true)
        case "llama-bpe", "llama3", "llama-v3":
            pre = .object([
                ("type", .string("Sequence")),
                ("pretokenizers", .array([split(llama3Pattern), byteLevel(useRegex: false)])),
            ])
            ignoreMerges = true
        case "qwen2":
            normalizer = .object([("type", .string("NFC"))])
            pre = .object([
                ("type", .string("Sequence")),
                ("pretokenizers", .array([split(qwen2Pattern), byteLevel(useRegex: false)])),
            ])
        default:
            return nil
        }
        var vocab: [(String, JSONValue)] = []
        var seen = Set<[UInt8]>()
        var added: [JSONValue] = []
        for (id, token) in tokens.enumerated() {
            if seen.insert(Array(token.utf8)).inserted { vocab.append((token, .int(id))) }
            let type = id < types.count ? types[id] : 1
            if type == 2 || type == 3 || type == 4 {
                let special = type != 4
                added.append(
                    .object([
                        ("id", .int(id)), ("content", .string(token)), ("single_word", .bool(false)),
                        ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(!special)),
                        ("special", .bool(special)),
                    ]))
            }
        }
        var single: [JSONValue] = [.object([("Sequence", .object([("id", .string("A")), ("type_id", .int(0))]))])]
        var specials: [(String, JSONValue)] = []
        if g.value("tokenizer.ggml.add_bos_token")?.boolValue == true,
            let bos = g.value("tokenizer.ggml.bos_token_id")?.intValue,
            bos >= 0, bos < tokens.count
        {
            single.insert(
                .object([("SpecialToken", .object([("id", .string(tokens[bos])), ("type_id", .int(0))]))]), at: 0)
            specials.append(
                (
                    tokens[bos],
                    .object([
                        ("id", .string(tokens[bos])), ("ids", .array([.int(bos)])),
                        ("tokens", .array([.string(tokens[bos])])),
                    ])
                ))
        }
        return .object([
            ("version", .string("1.0")),
            ("added_tokens", .array(added)),
            ("normalizer", normalizer),
            ("pre_tokenizer", pre),
            (
                "post_processor",
                .object([
                    ("type", .string("TemplateProcessing")), ("single", .array(single)),
                    ("special_tokens", .object(specials)),
                ])
            ),
            ("decoder", byteLevel(useRegex: true)),
            (
                "model",
                .object([
                    ("type", .string("BPE")), ("ignore_merges", .bool(ignoreMerges)), ("vocab", .object(vocab)),
                    ("merges", .array(merges.map { .string($0) })),
                ])
            ),
        ])
    }

    /// `tokenizer_config.json`: the special tokens' spellings and the chat template.
    static func tokenizerConfig(_ g: GGUFFile) -> JSONValue {
        let tokens = g.value("tokenizer.ggml.tokens")?.arrayValue?.map { $0.stringValue ?? "" } ?? []
        var members: [(String, JSONValue)] = []
        for (key, gguf) in [
            ("bos_token", "bos_token_id"), ("eos_token", "eos_token_id"), ("unk_token", "unknown_token_id"),
            ("pad_token", "padding_token_id"),
        ] {
            if let id = g.value("tokenizer.ggml.\(gguf)")?.intValue, id >= 0, id < tokens.count {
                members.append((key, .string(tokens[id])))
            }
        }
        if let add = g.value("tokenizer.ggml.add_bos_token")?.boolValue {
            members.append(("add_bos_token", .bool(add)))
        }
        if let template = g.value("tokenizer.chat_template")?.stringValue {
            members.append(("chat_template", .string(template)))
        }
        return .object(members)
    }
}
