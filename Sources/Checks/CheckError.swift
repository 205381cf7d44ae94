/// Why a check could not run (its findings, such as an incompatible pair, are results, not errors).
public struct CheckError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A prompt file with no prompt in it.
        case noPrompts
        /// The model carries no tokenizer, so text prompts cannot be encoded.
        case noTokenizer
        /// `--chat` on a model whose chat format hasskit does not know.
        case noChatTemplate
    }

    public var code: Code
    /// The file concerned.
    public var path: String

    public init(_ code: Code, path: String) {
        self.code = code
        self.path = path
    }

    public var description: String {
        switch code {
        case .noPrompts: return "\(path) has no prompts (one per line)"
        case .noTokenizer: return "\(path) carries no tokenizer.json (convert the model from a folder that has one)"
        case .noChatTemplate: return "\(path) carries no chat_template hasskit recognises"
        }
    }
}
