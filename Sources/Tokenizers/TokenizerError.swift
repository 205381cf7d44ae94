/// Why a tokenizer could not be loaded.
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The file uses a construct hasskit does not implement (named in the message).
        case unsupported
        /// The file is not a valid tokenizer of its kind.
        case malformed
    }

    public var code: Code
    public var message: String
    /// The file the tokenizer came from, when the caller knows it.
    public var file: String?

    public init(_ code: Code, _ message: String, file: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
    }

    public var description: String { (file.map { "\($0): " } ?? "") + "tokenizer: \(message)" }
}
