import WeightFormat

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

/// Shape checks run when a model opens, so that a header whose tensors disagree with its config
/// is refused with the tensor's name instead of indexing out of bounds later.
struct ShapeCheck {
    let path: String
    var kind: InferenceError.Kind = .malformed

    func matrix(_ name: String, _ m: WeightMatrix, rows: Int, cols: Int) throws {
        guard m.rows == rows, m.cols == cols else {
            throw InferenceError(
                "\(name) is \(m.rows)×\(m.cols), the config needs \(rows)×\(cols)", path: path, kind: kind)
        }
    }

    func vector(_ name: String, _ v: [Float]?, count: Int) throws {
        guard let v else { return }
        guard v.count == count else {
            throw InferenceError("\(name) has \(v.count) values, the config needs \(count)", path: path, kind: kind)
        }
    }
}
