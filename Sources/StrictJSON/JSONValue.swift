/// A JSON value that keeps what a checkpoint reader needs and `JSONSerialization` loses: numbers
/// as their exact source text (offsets up to 2^64 never pass through `Double`) and object members
/// in file order (so duplicates can be rejected and output is reproducible).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as written in the source, e.g. `"128"`, `"-2"`, `"1e-05"`.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in source order; keys are unique (the parser rejects duplicates).
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Builds a number from an integer.
    public static func int<T: BinaryInteger>(_ v: T) -> JSONValue { .number(String(v)) }

    /// Builds a number from a double (shortest round-tripping text; non-finite values become null).
    public static func double(_ v: Double) -> JSONValue {
        guard v.isFinite else { return .null }
        if v == v.rounded(), abs(v) < 1e15 { return .number(String(Int64(v))) }
        return .number("\(v)")
    }

    /// Builds an object from pairs, keeping their order.
    public static func object(_ pairs: KeyValuePairs<String, JSONValue>) -> JSONValue {
        .object(pairs.map { ($0.key, $0.value) })
    }

    /// Member `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    public var objectMembers: [(String, JSONValue)]? {
        if case let .object(m) = self { return m }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case let .array(a) = self { return a }
        return nil
    }
    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value as an exact signed integer: a number written without fraction or exponent that
    /// fits in `Int64`.
    public var int64Value: Int64? {
        guard case let .number(text) = self, JSONValue.isIntegerText(text) else { return nil }
        return Int64(text)
    }

    /// The value as an exact unsigned integer (no sign, fraction or exponent; fits in `UInt64`).
    public var uint64Value: UInt64? {
        guard case let .number(text) = self, JSONValue.isIntegerText(text), !text.hasPrefix("-") else { return nil }
        return UInt64(text)
    }

    /// The value as an `Int` when it is an exact integer that fits.
    public var intValue: Int? { int64Value.flatMap { Int(exactly: $0) } }

    /// The value as a double (any JSON number).
    public var doubleValue: Double? {
        guard case let .number(text) = self else { return nil }
        return Double(text)
    }

    static func isIntegerText(_ text: String) -> Bool {
        !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
    }
}
