import Tokenizers

/// Why a check could not run (its findings, such as an incompatible pair, are results, not errors).
public struct CheckError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A prompt file with no prompt in it.
        case noPrompts
        /// The model carries no tokenizer, so text prompts cannot be encoded.
        case noTokenizer
        /// `--chat` on a model that carries no chat template and whose family is not recognised.
        case noChatTemplate
        /// A prompt file that cannot be read as prompts (the reason).
        case badPrompts(String)
        /// A prompt plus the tokens asked for run past the positions the model was trained for.
        case pastContext(prompt: Int, maxTokens: Int, context: Int)
        /// A prompt token id the model's vocabulary does not have.
        case outsideVocabulary(id: Int, vocabulary: Int)
        /// The run needs more memory than the machine has available (bytes).
        case doesNotFit(estimate: MemoryEstimate, total: UInt64, available: UInt64)
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
        case .noChatTemplate:
            return
                "\(path) carries no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json); name a format with --template (\(ChatFormat.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .badPrompts(why): return "\(path): \(why)"
        case let .outsideVocabulary(id, vocabulary):
            return "\(path): prompt token id \(id) is outside the model's vocabulary of \(vocabulary)"
        case let .doesNotFit(estimate, total, available):
            return
                "\(path) needs about \(estimate.summary) and this machine has \(MemoryEstimate.gib(available)) GiB available of \(MemoryEstimate.gib(total)) GiB: it would read its weights from disk on every token, or be killed. Serve it with a GPU engine (hasskit export writes the SGLang/vLLM launch), or pass --force to run anyway"
        case let .pastContext(prompt, maxTokens, context):
            return
                "\(path): a prompt of \(prompt) tokens plus \(maxTokens) more needs \(prompt + maxTokens) positions; the model was trained for \(context) (shorten the prompt, lower --max-tokens, or pass --past-context to go on regardless)"
        }
    }
}
