import Jinja
import StrictJSON

/// A model's chat template, rendered by hasskit's Jinja interpreter exactly as transformers'
/// `apply_chat_template` renders it: the template's own text, with the special tokens of the
/// tokenizer config (`bos_token`, `eos_token`, `unk_token`, `pad_token`) and
/// `add_generation_prompt` in scope.
public struct ChatTemplate: Sendable {
    /// A conversation turn (the common case; `render(conversation:)` takes any JSON messages,
    /// tool calls included).
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    public let source: String
    /// Where the template came from, for messages (`tokenizer_config.json`, `chat_template.jinja`,
    /// or a built-in format's name).
    public let origin: String
    public let specialTokens: [String: String]
    let template: Template

    public init(source: String, origin: String, specialTokens: [String: String] = [:]) throws {
        self.source = source
        self.origin = origin
        self.specialTokens = specialTokens
        do {
            template = try Template(source)
        } catch var e as JinjaError {
            e.message = "\(origin): chat template: \(e.message)"
            throw e
        }
    }

    /// The model's template, as transformers finds it: `chat_template.jinja` when the model has
    /// one (transformers 5 writes it there), else `tokenizer_config.json`'s `chat_template` (a
    /// string, or the named-list form, whose `default` entry is used); nil when neither has one.
    public static func load(tokenizerConfig: [UInt8]?, jinjaFile: [UInt8]?) throws -> ChatTemplate? {
        let config = try tokenizerConfig.map { bytes -> JSONValue in
            do { return try JSONParser(maxDepth: 64).parse(bytes) } catch {
                throw JinjaError(.syntax, "tokenizer_config.json is not valid JSON: \(error)")
            }
        }
        var specials: [String: String] = [:]
        for key in ["bos_token", "eos_token", "unk_token", "pad_token"] {
            // A token is a string or an AddedToken object with its `content`.
            if let v = config?[key], let s = v.stringValue ?? v["content"]?.stringValue { specials[key] = s }
        }
        if let jinjaFile {
            return try ChatTemplate(
                source: String(decoding: jinjaFile, as: UTF8.self), origin: "chat_template.jinja",
                specialTokens: specials)
        }
        guard let value = config?["chat_template"], !value.isNull else { return nil }
        if let s = value.stringValue {
            return try ChatTemplate(source: s, origin: "tokenizer_config.json", specialTokens: specials)
        }
        guard let named = value.arrayValue else {
            throw JinjaError(.syntax, "tokenizer_config.json: chat_template is neither a string nor a list")
        }
        let entries = named.compactMap { e -> (String, String)? in
            guard let n = e["name"]?.stringValue, let t = e["template"]?.stringValue else { return nil }
            return (n, t)
        }
        guard let chosen = entries.first(where: { $0.0 == "default" }) ?? entries.first else { return nil }
        return try ChatTemplate(
            source: chosen.1, origin: "tokenizer_config.json (chat_template \"\(chosen.0)\")", specialTokens: specials)
    }

    /// The prompt text for `messages`.
    public func render(_ messages: [Message], addGenerationPrompt: Bool = true) throws -> String {
        try render(
            conversation: messages.map {
                .dict(Value.Dict([("role", .string($0.role)), ("content", .string($0.content))]))
            }, addGenerationPrompt: addGenerationPrompt)
    }

    /// The prompt text for a conversation given as template values (JSON messages).
    public func render(conversation: [Value], addGenerationPrompt: Bool = true) throws -> String {
        var context: [String: Value] = [
            "messages": .list(conversation), "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        for (k, v) in specialTokens { context[k] = .string(v) }
        do {
            return try template.render(context)
        } catch var e as JinjaError {
            if e.code != .raised { e.message = "\(origin): chat template: \(e.message)" }
            throw e
        }
    }
}

/// The chat formats of the families hasskit knows, as their real Jinja templates: used only for
/// a model that carries no template of its own (`run --chat --template NAME`), with a warning.
public enum ChatFormat: String, Sendable, CaseIterable {
    /// LLaMA-2-Chat: `<s>[INST] <<SYS>>…<</SYS>> … [/INST] answer </s>`.
    case llama2
    /// LLaMA-3-Instruct: `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`.
    case llama3
    /// ChatML with Qwen2's default system prompt.
    case chatml

    /// The family's template as its model ships it.
    public var source: String {
        switch self {
        case .llama2:
            return
                "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
        case .llama3:
            return
                "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
        case .chatml:
            return
                "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
        }
    }

    /// The special tokens the family's template uses.
    public var specialTokens: [String: String] {
        switch self {
        case .llama2: return ["bos_token": "<s>", "eos_token": "</s>"]
        case .llama3: return ["bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"]
        case .chatml: return ["eos_token": "<|im_end|>"]
        }
    }

    public var template: ChatTemplate {
        // The sources above are tested to parse (ChatTemplateTests), so this cannot fail.
        try! ChatTemplate(source: source, origin: "the built-in \(rawValue) format", specialTokens: specialTokens)
    }
}
