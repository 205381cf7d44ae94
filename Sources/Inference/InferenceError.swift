/// Why a model could not be loaded or run.
public struct InferenceError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The file is not a model hasskit can run.
        case malformed
        /// A draft head does not fit the base it was given.
        case incompatible
    }

    public var message: String
    public var path: String
    public var kind: Kind

    public init(_ message: String, path: String, kind: Kind = .malformed) {
        self.message = message
        self.path = path
        self.kind = kind
    }

    public var description: String { "\(path): \(message)" }
}
