/// Why an export was refused: what, and in which file or tensor.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The draft does not fit the base (another base's head).
        case incompatible
        /// A file is missing, malformed, or not what an export takes.
        case badInput
        /// The output folder already holds files (and --force was not given).
        case outputExists
        /// Writing failed.
        case io
    }

    public var kind: Kind
    public var message: String
    /// The file, folder or tensor the problem concerns.
    public var location: String

    public init(_ message: String, location: String, kind: Kind = .badInput) {
        self.message = message
        self.location = location
        self.kind = kind
    }

    public var description: String { "\(location): \(message)" }
}
