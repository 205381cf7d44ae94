/// Why a model could not be loaded or run.
public struct InferenceError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var path: String

    public init(_ message: String, path: String) {
        self.message = message
        self.path = path
    }

    public var description: String { "\(path): \(message)" }
}
