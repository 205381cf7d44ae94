import Jinja
import Platform
import StrictJSON
import Tokenizers
import WeightFormat

/// What `run`, `check` and `compat` read from the files a converted model carries besides its
/// tensors: the tokenizer, the chat template and the stop tokens. Each file is checked against
/// its SHA-256 before it is parsed.
public struct ModelExtras {
    public var tokenizer: Tokenizer?
    /// The model's own chat template (`chat_template.jinja` or `tokenizer_config.json`).
    public var chatTemplate: ChatTemplate?
    /// Why the model's template could not be read, when it has one that does not parse; reported
    /// only where a template is needed (`--chat`), so a broken template never stops plain runs.
    public var chatTemplateProblem: JinjaError?
    public var stopTokens: Set<Int> = []
    /// Why the tokenizer could not be loaded, when `requireTokenizer` was false and it could not.
    public var tokenizerProblem: TokenizerError?

    /// - Parameter requireTokenizer: false where token ids are enough (`run --prompt-ids`): a
    ///   tokenizer that cannot be loaded is then reported in `tokenizerProblem` instead of thrown,
    ///   so the engine can always be run.
    public init(path: String, requireTokenizer: Bool = true) throws {
        try self.init(file: try HKWFile(path: path), requireTokenizer: requireTokenizer)
    }

    /// What an already opened file carries.
    public init(file: HKWFile, requireTokenizer: Bool = true) throws {
        try self.init(path: file.path, requireTokenizer: requireTokenizer) { try file.verifiedFile(named: $0) }
    }

    /// What a checkpoint folder (a pulled snapshot) has beside its weights: the same files, read
    /// from the folder, for a model too big to convert here (`check --server`).
    public init(folder: String, requireTokenizer: Bool = true) throws {
        try self.init(path: folder, requireTokenizer: requireTokenizer) { name in
            let file = FileSystem.join(folder, name)
            return FileSystem.kind(of: file) == .file ? try FileSystem.readFile(file) : nil
        }
    }

    init(path: String, requireTokenizer: Bool, read: (String) throws -> [UInt8]?) throws {
        do {
            if let bytes = try read("tokenizer.json") {
                tokenizer = try Tokenizer(data: bytes)
            } else if let bytes = try read("tokenizer.model") {
                tokenizer = try Tokenizer(sentencePieceModel: bytes)
            }
        } catch var e as TokenizerError {
            e.file = "\(path) (its tokenizer)"
            if requireTokenizer { throw e }
            tokenizerProblem = e
        }
        do {
            chatTemplate = try ChatTemplate.load(
                tokenizerConfig: try read("tokenizer_config.json"), jinjaFile: try read("chat_template.jinja"))
        } catch var e as JinjaError {
            e.message = "\(path): \(e.message)"
            chatTemplateProblem = e
        }
        for name in ["config.json", "generation_config.json"] {
            guard let bytes = try read(name), let json = try? JSONParser().parse(bytes) else {
                continue
            }
            let ids = json["eos_token_id"].map { $0.arrayValue ?? [$0] } ?? []
            stopTokens.formUnion(ids.compactMap { $0.int64Value.map(Int.init) })
        }
    }
}

extension ModelExtras {
    /// The template `--chat` renders with: the named built-in format when the user names one,
    /// else the model's own template, else a built-in format recognised from the tokenizer's
    /// special tokens, with a warning (the text may differ from what the model was trained on).
    public func chatTemplate(named format: ChatFormat?, path: String) throws -> (ChatTemplate, warning: String?) {
        if let format { return (format.template, nil) }
        if let problem = chatTemplateProblem { throw problem }
        if let chatTemplate { return (chatTemplate, nil) }
        if let tokenizer, let format = ChatFormat(recognizing: tokenizer) {
            return (
                format.template,
                "\(path) carries no chat template; using the built-in \(format.rawValue) format, recognised from its tokenizer's special tokens"
            )
        }
        throw CheckError(.noChatTemplate, path: path)
    }

    /// The ids of a prompt: text with the tokenizer's special tokens, or (with `chat`, and
    /// always for a conversation) rendered by the chat template and encoded without adding
    /// special tokens, as transformers' `apply_chat_template(tokenize=True)` does.
    public func encode(_ prompt: Prompt, chat: ChatTemplate?, path: String) throws -> [Int] {
        guard let tokenizer else { throw CheckError(.noTokenizer, path: path) }
        switch (prompt, chat) {
        case let (.text(text), nil):
            return tokenizer.encode(text, addSpecialTokens: true)
        case let (.text(text), template?):
            return tokenizer.encode(try template.render([.init(role: "user", content: text)]))
        case let (.conversation(messages), template?):
            return tokenizer.encode(try template.render(conversation: messages))
        case (.conversation, nil):
            throw CheckError(.badPrompts("a conversation prompt needs --chat"), path: path)
        }
    }
}

extension ChatFormat {
    /// The family whose special tokens the tokenizer has: LLaMA-3's headers, ChatML's
    /// `<|im_start|>`, or LLaMA-2's `<s>`/`</s>` at ids 1 and 2.
    public init?(recognizing tokenizer: Tokenizer) {
        if tokenizer.id(of: "<|start_header_id|>") != nil {
            self = .llama3
        } else if tokenizer.id(of: "<|im_start|>") != nil {
            self = .chatml
        } else if tokenizer.token(1) == "<s>", tokenizer.token(2) == "</s>" {
            self = .llama2
        } else {
            return nil
        }
    }
}
