/// The chat formats of the supported families, written out instead of evaluating the Jinja
/// templates: the rendered text equals what each model's `chat_template` produces (checked
/// against transformers' `apply_chat_template` in the tests).
public enum ChatTemplate: String, Sendable, CaseIterable {
    /// `<s>[INST] <<SYS>>…<</SYS>> … [/INST] answer </s>` (LLaMA-2-Chat).
    case llama2
    /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>` (LLaMA-3-Instruct).
    case llama3
    /// ChatML: `<|im_start|>role\n…<|im_end|>\n` with Qwen's default system prompt.
    case chatml

    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// Recognises a family from a model's Jinja `chat_template`.
    public init?(detecting template: String) {
        if template.contains("<|start_header_id|>") {
            self = .llama3
        } else if template.contains("<|im_start|>") {
            self = .chatml
        } else if template.contains("[INST]") {
            self = .llama2
        } else {
            return nil
        }
    }

    /// The prompt text for `messages`, with the assistant header appended when
    /// `addGenerationPrompt` (LLaMA-2's format has none).
    public func render(_ messages: [Message], addGenerationPrompt: Bool = true) -> String {
        switch self {
        case .llama3:
            var out = "<|begin_of_text|>"
            for m in messages {
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(m.content.trimmingSpaces())<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
            return out
        case .chatml:
            var out = ""
            if messages.first?.role != "system" {
                out += "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
            return out
        case .llama2:
            var out = ""
            var system: String?
            var rest = messages[...]
            if let first = messages.first, first.role == "system" {
                system = first.content
                rest = messages.dropFirst()
            }
            var firstUser = true
            for m in rest {
                if m.role == "user" {
                    var content = m.content
                    if firstUser, let system { content = "<<SYS>>\n\(system)\n<</SYS>>\n\n" + content }
                    firstUser = false
                    out += "<s>[INST] \(content.trimmingSpaces()) [/INST]"
                } else if m.role == "assistant" {
                    out += " \(m.content.trimmingSpaces()) </s>"
                }
            }
            return out
        }
    }
}

extension String {
    /// The template's `| trim`: Jinja calls Python's `str.strip()`, which removes Unicode
    /// whitespace and the ASCII separators U+001C–U+001F from both ends.
    func trimmingSpaces() -> String {
        func isSpace(_ c: Character) -> Bool {
            c.unicodeScalars.allSatisfy { $0.properties.isWhitespace || (0x1C...0x1F).contains($0.value) }
        }
        var s = Substring(self)
        while let f = s.first, isSpace(f) { s.removeFirst() }
        while let l = s.last, isSpace(l) { s.removeLast() }
        return String(s)
    }
}
