import Foundation

/// A value in a template, with Python's semantics (what jinja2 does is what Python does).
public indirect enum Value: Sendable {
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Value])
    /// A tuple: a list that prints with parentheses (`items()`, `(a, b)`).
    case tuple([Value])
    /// A dict: keys in insertion order (Python 3.7+), string keys (all chat templates need).
    case dict(Dict)
    case namespace(Namespace)
    case function(Function)

    public struct Dict: Sendable {
        public var keys: [String] = []
        public var values: [String: Value] = [:]

        public init(_ pairs: [(String, Value)] = []) {
            for (k, v) in pairs { self[k] = v }
        }

        public subscript(key: String) -> Value? {
            get { values[key] }
            set {
                if values[key] == nil, newValue != nil { keys.append(key) }
                if newValue == nil { keys.removeAll { $0 == key } }
                values[key] = newValue
            }
        }

        var pairs: [(String, Value)] { keys.map { ($0, values[$0]!) } }
    }

    /// jinja2's `namespace()`: the one mutable object a template can write into from a loop.
    public final class Namespace: @unchecked Sendable {
        var attributes: Dict
        init(_ attributes: Dict) { self.attributes = attributes }
    }

    public struct Function: Sendable {
        let name: String
        let call: @Sendable (_ args: [Value], _ kwargs: [(String, Value)]) throws -> Value
    }

    /// A JSON-like value from Swift (what `render` takes for `messages` and the like).
    public static func from(_ any: Any?) -> Value {
        switch any {
        case nil: return .none
        case let v as Value: return v
        case let b as Bool: return .bool(b)
        case let i as Int: return .int(i)
        case let d as Double: return .double(d)
        case let s as String: return .string(s)
        case let a as [Any?]: return .list(a.map(from))
        case let d as [(String, Any?)]: return .dict(Dict(d.map { ($0.0, from($0.1)) }))
        default: return .none
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case let .bool(b): return b
        case let .int(i): return i != 0
        case let .double(d): return d != 0
        case let .string(s): return !s.isEmpty
        case let .list(a), let .tuple(a): return !a.isEmpty
        case let .dict(d): return !d.keys.isEmpty
        case .namespace, .function: return true
        }
    }

    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .function: return "function"
        }
    }

    /// Python's `str()`, which `{{ … }}` prints (an undefined value prints nothing).
    var str: String {
        switch self {
        case .undefined: return ""
        case let .string(s): return s
        default: return repr
        }
    }

    /// Python's `repr()`.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .double(d): return Self.pythonFloat(d)
        case let .string(s): return Self.pythonRepr(s)
        case let .list(a): return "[" + a.map(\.repr).joined(separator: ", ") + "]"
        case let .tuple(a): return "(" + a.map(\.repr).joined(separator: ", ") + (a.count == 1 ? ",)" : ")")
        case let .dict(d):
            return "{" + d.pairs.map { Self.pythonRepr($0.0) + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        case let .namespace(n):
            return "<Namespace " + n.attributes.pairs.map { "\($0.0)=\($0.1.repr)" }.joined(separator: ", ") + ">"
        case let .function(f): return "<function \(f.name)>"
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        var s = "\(d)"  // shortest round-trip digits, as Python's repr
        if let e = s.firstIndex(of: "e") {
            // Python: 1e-05, 1e+16 (at least two exponent digits, explicit sign)
            let mantissa = s[..<e].hasSuffix(".0") ? String(s[..<e].dropLast(2)) : String(s[..<e])
            var exp = String(s[s.index(after: e)...])
            let sign = exp.hasPrefix("-") ? "-" : "+"
            exp = exp.trimmingCharacters(in: CharacterSet(charactersIn: "+-"))
            if exp.count < 2 { exp = "0" + exp }
            s = mantissa + "e" + sign + exp
        }
        return s
    }

    static func pythonRepr(_ s: String) -> String {
        let quote: Unicode.Scalar = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"") ? "\"" : "'"
        var out = String.UnicodeScalarView([quote])
        for c in s.unicodeScalars {
            switch c {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case quote: out.append(contentsOf: ["\\", quote])
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    out.append(contentsOf: String(format: "\\x%02x", c.value).unicodeScalars)
                } else {
                    out.append(c)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    /// `json.dumps(value, ensure_ascii=False, indent=…)` as transformers' `tojson` filter.
    func json(indent: Int?, sortKeys: Bool = false, level: Int = 0) throws -> String {
        let pad = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        let close = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let separator = indent == nil ? ", " : ","
        switch self {
        case .none, .undefined: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
            return Self.pythonFloat(d)
        case let .string(s): return Self.jsonString(s)
        case let .list(a), let .tuple(a):
            if a.isEmpty { return "[]" }
            return "["
                + (try a.map { (pad ?? "") + (try $0.json(indent: indent, sortKeys: sortKeys, level: level + 1)) })
                .joined(separator: separator) + close + "]"
        case let .dict(d):
            if d.keys.isEmpty { return "{}" }
            return "{"
                + (try (sortKeys ? d.pairs.sorted { $0.0 < $1.0 } : d.pairs).map {
                    (pad ?? "") + Self.jsonString($0.0) + ": "
                        + (try $0.1.json(indent: indent, sortKeys: sortKeys, level: level + 1))
                })
                .joined(separator: separator) + close + "}"
        case .namespace, .function:
            throw JinjaError(.runtime, "Object of type \(typeName) is not JSON serializable")
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    out += String(format: "\\u%04x", c.value)
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

extension Value: Equatable {
    /// Python's `==` (1 == 1.0 == True; values of other types are unequal).
    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(x), .string(y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)): return x == y
        case let (.dict(x), .dict(y)): return Set(x.keys) == Set(y.keys) && x.keys.allSatisfy { x[$0] == y[$0] }
        case let (.namespace(x), .namespace(y)): return x === y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// The value as a number when it is one (bools are ints in Python).
    var number: Double? {
        switch self {
        case let .bool(b): return b ? 1 : 0
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }
}
