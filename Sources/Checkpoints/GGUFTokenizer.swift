import StrictJSON

/// The tokenizer files a GGUF's `tokenizer.ggml.*` metadata describes, written the way
/// transformers' GGUF loader rebuilds them (for SmolLM2's GGUF the result equals the
/// `tokenizer.json` transformers exports from it). GGUF keeps the vocabulary, merges, token types
/// and special ids but not the split regex: `tokenizer.ggml.pre` names it, as llama.cpp reads it.
enum GGUFTokenizer {
    static let llama3Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// DeepSeek-V3/R1's third split (digits and CJK runs are split off before it).
    static let deepseekV3Pattern =
        ##"[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"##
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
        if g.value("tokenizer.ggml.model")?.stringValue == "llama" { return sentencePiece(g) }
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
        case "deepseek-v3":
            pre = .object([
                ("type", .string("Sequence")),
                (
                    "pretokenizers",
                    .array([
                        split(#"\p{N}{1,3}"#), split("[一-龥぀-ゟ゠-ヿ]+"), split(deepseekV3Pattern),
                        byteLevel(useRegex: false),
                    ])
                ),
            ])
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
                added.append(addedToken(id: id, content: token, special: special))
            }
        }
        let post = postProcessor(g, tokens: tokens, addsBOSByDefault: false)
        return .object([
            ("version", .string("1.0")),
            ("added_tokens", .array(added)),
            ("normalizer", normalizer),
            ("pre_tokenizer", pre),
            ("post_processor", post),
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

    /// A SentencePiece vocabulary (`tokenizer.ggml.model` "llama": LLaMA-2 and its kin) as the
    /// `tokenizer.json` transformers writes for it: `▁` prepended and replacing spaces, BPE whose
    /// merges follow the pieces' scores (a pair merges when their concatenation is a piece, the
    /// highest-scoring first), byte fallback, BOS added, and the decoder undoing it all.
    static func sentencePiece(_ g: GGUFFile) -> JSONValue? {
        guard let tokens = g.value("tokenizer.ggml.tokens")?.arrayValue?.map({ $0.stringValue ?? "" }),
            let scores = g.value("tokenizer.ggml.scores")?.arrayValue?.map({ $0.doubleValue ?? 0 }),
            scores.count == tokens.count
        else { return nil }
        let types = g.value("tokenizer.ggml.token_type")?.arrayValue?.map { $0.intValue ?? 1 } ?? []
        func type(_ id: Int) -> Int { id < types.count ? types[id] : 1 }
        var vocab: [(String, JSONValue)] = []
        var ids: [[UInt8]: Int] = [:]
        for (id, token) in tokens.enumerated() where ids[Array(token.utf8)] == nil {
            ids[Array(token.utf8)] = id
            vocab.append((token, .int(id)))
        }
        // Merges in the order of the merged piece's score (ties: the lower id first).
        let mergeable = tokens.indices.filter { type($0) == 1 || type($0) == 4 }
            .sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var merges: [JSONValue] = []
        var seen = Set<String>()
        for id in mergeable {
            let scalars = Array(tokens[id].unicodeScalars)
            guard scalars.count > 1 else { continue }
            for k in 1..<scalars.count {
                let left = String(String.UnicodeScalarView(scalars[..<k]))
                let right = String(String.UnicodeScalarView(scalars[k...]))
                guard ids[Array(left.utf8)] != nil, ids[Array(right.utf8)] != nil else { continue }
                if seen.insert(left + " " + right).inserted { merges.append(.array([.string(left), .string(right)])) }
            }
        }
        var added: [JSONValue] = []
        for id in tokens.indices where [2, 3, 4].contains(type(id)) {
            let special = type(id) != 4
            added.append(addedToken(id: id, content: tokens[id], special: special))
        }
        let prefixSpace = g.value("tokenizer.ggml.add_space_prefix")?.boolValue ?? true
        let mark = JSONValue.object([("String", .string("\u{2581}"))])
        var normalizers: [JSONValue] = []
        if prefixSpace {
            normalizers.append(.object([("type", .string("Prepend")), ("prepend", .string("\u{2581}"))]))
        }
        normalizers.append(
            .object([
                ("type", .string("Replace")), ("pattern", .object([("String", .string(" "))])),
                ("content", .string("\u{2581}")),
            ]))
        var decoders: [JSONValue] = [
            .object([("type", .string("Replace")), ("pattern", mark), ("content", .string(" "))]),
            .object([("type", .string("ByteFallback"))]), .object([("type", .string("Fuse"))]),
        ]
        if prefixSpace {
            decoders.append(
                .object([("type", .string("Strip")), ("content", .string(" ")), ("start", .int(1)), ("stop", .int(0))]))
        }
        let post = postProcessor(g, tokens: tokens, addsBOSByDefault: true)
        var model: [(String, JSONValue)] = [
            ("type", .string("BPE")), ("fuse_unk", .bool(true)),
            ("byte_fallback", .bool(tokens.indices.contains { type($0) == 6 })),
            ("vocab", .object(vocab)), ("merges", .array(merges)),
        ]
        if let unk = g.value("tokenizer.ggml.unknown_token_id")?.intValue, unk >= 0, unk < tokens.count {
            model.append(("unk_token", .string(tokens[unk])))
        }
        return .object([
            ("version", .string("1.0")), ("added_tokens", .array(added)),
            ("normalizer", .object([("type", .string("Sequence")), ("normalizers", .array(normalizers))])),
            ("pre_tokenizer", .null),
            ("post_processor", post),
            ("decoder", .object([("type", .string("Sequence")), ("decoders", .array(decoders))])),
            ("model", .object(model)),
        ])
    }

    /// An `added_tokens` entry: special tokens are matched in the raw text, the others after
    /// normalization (the library's defaults for each).
    static func addedToken(id: Int, content: String, special: Bool) -> JSONValue {
        .object([
            ("id", .int(id)), ("content", .string(content)), ("single_word", .bool(false)), ("lstrip", .bool(false)),
            ("rstrip", .bool(false)), ("normalized", .bool(!special)), ("special", .bool(special)),
        ])
    }

    /// A TemplateProcessing post-processor that puts BOS in front when `tokenizer.ggml.add_bos_token`
    /// says so (absent: `addsBOSByDefault`), as transformers' GGUF loader writes it.
    static func postProcessor(_ g: GGUFFile, tokens: [String], addsBOSByDefault: Bool) -> JSONValue {
        var single: [JSONValue] = [.object([("Sequence", .object([("id", .string("A")), ("type_id", .int(0))]))])]
        var specials: [(String, JSONValue)] = []
        if g.value("tokenizer.ggml.add_bos_token")?.boolValue ?? addsBOSByDefault,
            let bos = g.value("tokenizer.ggml.bos_token_id")?.intValue, bos >= 0, bos < tokens.count
        {
            let name = JSONValue.string(tokens[bos])
            single.insert(.object([("SpecialToken", .object([("id", name), ("type_id", .int(0))]))]), at: 0)
            specials.append(
                (tokens[bos], .object([("id", name), ("ids", .array([.int(bos)])), ("tokens", .array([name]))])))
        }
        return .object([
            ("type", .string("TemplateProcessing")), ("single", .array(single)), ("special_tokens", .object(specials)),
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
