/// Why a pair's workflow step could not run.
public struct PairError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// `check PAIR` before `convert PAIR`.
        case notConverted
        /// Converted as several types and none chosen.
        case ambiguousType([String])
        /// Converted, but not as the type asked for.
        case typeNotConverted(String, available: [String])
        /// The lock file has no base and draft.
        case incompleteLock
        /// The pulled base is not of the family the manifest names.
        case familyMismatch(expected: String, found: String)
    }

    public var code: Code
    public var pair: String

    public init(_ code: Code, pair: String) {
        self.code = code
        self.pair = pair
    }

    public var description: String {
        switch code {
        case .notConverted: return "\(pair) is not converted yet: run hasskit pull \(pair) and hasskit convert \(pair)"
        case let .ambiguousType(types):
            return "\(pair) is converted as \(types.joined(separator: ", ")); choose one with --type"
        case let .typeNotConverted(t, available):
            return
                "\(pair) is not converted as \(t) (it is as \(available.joined(separator: ", "))); run hasskit convert \(pair) --type \(t)"
        case .incompleteLock: return "the lock of \(pair) has no base and draft; pull it again"
        case let .familyMismatch(e, f):
            return "\(pair): the manifest's family converts to \(e), the pulled base converted to \(f)"
        }
    }
}
