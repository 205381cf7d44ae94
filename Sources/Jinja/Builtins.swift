import Foundation

/// jinja2's filters and tests, and the Python methods templates call on strings and dicts.
extension Interpreter {
    static func filter(_ name: String, _ v: Value, _ args: [Value], _ kwargs: [(String, Value)]) throws -> Value {
        func arg(_ i: Int, _ key: String) -> Value? { i < args.count ? args[i] : kwargs.first { $0.0 == key }?.1 }
        switch name {
        case "trim":
            return .string(
                Self.strip(try string(v, name), chars: arg(0, "chars")?.stringValue, left: true, right: true))
        case "length", "count":
            switch v {
            case let .string(s): return .int(s.unicodeScalars.count)
            case let .list(a), let .tuple(a): return .int(a.count)
            case let .dict(d): return .int(d.keys.count)
            case .undefined: return .int(0)
            default: throw JinjaError(.runtime, "object of type '\(v.typeName)' has no len()")
            }
        case "upper": return .string(try string(v, name).uppercased())
        case "lower": return .string(try string(v, name).lowercased())
        case "capitalize":
            let s = try string(v, name)
            return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "title": return .string(Self.title(try string(v, name)))
        case "default", "d":
            let fallback = arg(0, "default_value") ?? .string("")
            let boolean = arg(1, "boolean")?.truthy ?? false
            return v.isUndefined || (boolean && !v.truthy) ? fallback : v
        case "first": return try Self.items(of: v).first ?? .undefined("first")
        case "last": return try Self.items(of: v).last ?? .undefined("last")
        case "join":
            var items = try Self.items(of: v)
            if let attribute = arg(1, "attribute")?.stringValue {
                items = try items.map { try attributeOrItem($0, attribute) }
            }
            return .string(items.map(\.str).joined(separator: arg(0, "d")?.str ?? ""))
        case "replace":
            let s = try string(v, name)
            guard let old = arg(0, "old")?.stringValue, let new = arg(1, "new")?.stringValue else {
                throw JinjaError(.runtime, "replace needs two strings")
            }
            let count = arg(2, "count").flatMap { if case let .int(n) = $0 { n } else { nil } } ?? -1
            return .string(Self.replace(s, old, new, count: count))
        case "tojson":
            var indent: Int?
            if case let .int(n)? = arg(0, "indent") { indent = n }
            return .string(try v.json(indent: indent, sortKeys: arg(3, "sort_keys")?.truthy ?? false))
        case "string": return .string(v.str)
        case "int":
            switch v {
            case let .int(i): return .int(i)
            case let .double(d): return .int(Int(d))
            case let .bool(b): return .int(b ? 1 : 0)
            case let .string(s):
                return Int(s.trimmingCharacters(in: .whitespaces)).map { .int($0) } ?? arg(0, "default") ?? .int(0)
            default: return arg(0, "default") ?? .int(0)
            }
        case "float":
            if let n = v.number { return .double(n) }
            if case let .string(s) = v, let d = Double(s.trimmingCharacters(in: .whitespaces)) { return .double(d) }
            return arg(0, "default") ?? .double(0)
        case "abs":
            switch v {
            case let .int(i): return .int(abs(i))
            case let .double(d): return .double(abs(d))
            default: throw JinjaError(.runtime, "bad operand type for abs(): '\(v.typeName)'")
            }
        case "list": return .list(try Self.items(of: v))
        case "reverse":
            if case let .string(s) = v { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(try Self.items(of: v).reversed())
        case "items":
            guard case let .dict(d) = v else { throw JinjaError(.runtime, "items needs a dict, not \(v.typeName)") }
            return .list(d.pairs.map { .tuple([.string($0.0), $0.1]) })
        case "dictsort":
            guard case let .dict(d) = v else { throw JinjaError(.runtime, "dictsort needs a dict, not \(v.typeName)") }
            return .list(
                d.pairs.sorted { $0.0.lowercased() < $1.0.lowercased() }.map { .tuple([.string($0.0), $0.1]) })
        case "unique":
            var seen: [Value] = []
            for x in try Self.items(of: v) where !seen.contains(x) { seen.append(x) }
            return .list(seen)
        case "sort":
            let reverse = arg(0, "reverse")?.truthy ?? false
            let attribute = arg(2, "attribute")?.stringValue
            let items = try Self.items(of: v)
            let keys = try items.map { item in try attribute.map { a in try attributeOrItem(item, a) } ?? item }
            var order = Array(items.indices)
            var failure: Error?
            order.sort { i, j in
                do { return try compare("<", keys[i], keys[j]) } catch {
                    failure = error
                    return false
                }
            }
            if let failure { throw failure }
            if reverse { order.reverse() }
            return .list(order.map { items[$0] })
        case "map":
            let items = try Self.items(of: v)
            if let attribute = kwargs.first(where: { $0.0 == "attribute" })?.1.stringValue {
                return .list(try items.map { try attributeOrItem($0, attribute) })
            }
            guard let f = args.first?.stringValue else {
                throw JinjaError(.runtime, "map needs a filter name or attribute=")
            }
            return .list(try items.map { try filter(f, $0, Array(args.dropFirst()), []) })
        case "select", "reject":
            let items = try Self.items(of: v)
            let t = args.first?.stringValue
            return .list(
                try items.filter { x in
                    let ok = try t.map { try test($0, x, Array(args.dropFirst())) } ?? x.truthy
                    return ok == (name == "select")
                })
        case "selectattr", "rejectattr":
            guard let attribute = args.first?.stringValue else {
                throw JinjaError(.runtime, "\(name) needs an attribute")
            }
            let t = args.count > 1 ? args[1].stringValue : nil
            return .list(
                try Self.items(of: v).filter { x in
                    let a = try attributeOrItem(x, attribute)
                    let ok = try t.map { try test($0, a, Array(args.dropFirst(2))) } ?? a.truthy
                    return ok == (name == "selectattr")
                })
        case "indent":
            let s = try string(v, name)
            let width: String
            switch arg(0, "width") {
            case let .string(w)?: width = w
            case let .int(n)?: width = String(repeating: " ", count: n)
            default: width = "    "
            }
            let first = arg(1, "first")?.truthy ?? false
            let blank = arg(2, "blank")?.truthy ?? false
            let lines = s.components(separatedBy: "\n")
            return .string(
                lines.enumerated().map { i, l in
                    (i == 0 && !first) || (l.isEmpty && !blank) ? l : width + l
                }.joined(separator: "\n"))
        case "round":
            guard let n = v.number else { throw JinjaError(.runtime, "round needs a number") }
            let digits = arg(0, "precision").flatMap { if case let .int(p) = $0 { p } else { nil } } ?? 0
            let scale = pow(10, Double(digits))
            return .double((n * scale).rounded(.toNearestOrEven) / scale)
        case "safe": return v
        case "e", "escape":
            var out = ""
            for c in v.str.unicodeScalars {
                switch c {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&#34;"
                case "'": out += "&#39;"
                default: out.unicodeScalars.append(c)
                }
            }
            return .string(out)
        case "wordcount": return .int(try string(v, name).split(whereSeparator: { $0.isWhitespace }).count)
        default:
            throw JinjaError(.runtime, "no filter named '\(name)'")
        }
    }

    static func string(_ v: Value, _ filter: String) throws -> String {
        switch v {
        case let .string(s): return s
        case let .undefined(name): throw JinjaError(.runtime, "'\(name)' is undefined")
        default: return v.str
        }
    }

    static func attributeOrItem(_ v: Value, _ name: String) throws -> Value {
        if case let .dict(d) = v { return d[name] ?? .undefined(name) }
        return try attribute(v, name)
    }

    static func test(_ name: String, _ v: Value, _ args: [Value]) throws -> Bool {
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true } else { return false }
        case "boolean": if case .bool = v { return true } else { return false }
        case "true": if case .bool(true) = v { return true } else { return false }
        case "false": if case .bool(false) = v { return true } else { return false }
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .double = v { return true } else { return false }
        case "number":
            switch v {
            case .int, .double, .bool: return true
            default: return false
            }
        case "string": return v.isString
        case "mapping": if case .dict = v { return true } else { return false }
        case "sequence", "iterable":
            switch v {
            case .list, .tuple, .string, .dict: return true
            default: return false
            }
        case "callable": if case .function = v { return true } else { return false }
        case "even", "odd":
            guard case let .int(i) = v else { throw JinjaError(.runtime, "\(name) needs an integer") }
            return (i % 2 == 0) == (name == "even")
        case "divisibleby":
            guard case let .int(i) = v, case let .int(n)? = args.first, n != 0 else {
                throw JinjaError(.runtime, "divisibleby needs integers")
            }
            return i % n == 0
        case "lower": return v.stringValue.map { $0 == $0.lowercased() } ?? false
        case "upper": return v.stringValue.map { $0 == $0.uppercased() } ?? false
        case "sameas":
            return args.first.map { a in
                switch (v, a) {
                case (.none, .none): return true
                case let (.bool(x), .bool(y)): return x == y
                default: return false
                }
            } ?? false
        case "eq", "equalto", "==": return try compare("==", v, args.first ?? .none)
        case "ne", "!=": return try compare("!=", v, args.first ?? .none)
        case "lt", "lessthan", "<": return try compare("<", v, args.first ?? .none)
        case "gt", "greaterthan", ">": return try compare(">", v, args.first ?? .none)
        case "le", "<=": return try compare("<=", v, args.first ?? .none)
        case "ge", ">=": return try compare(">=", v, args.first ?? .none)
        case "in": return try compare("in", v, args.first ?? .none)
        default: throw JinjaError(.runtime, "no test named '\(name)'")
        }
    }

    static func callMethod(
        _ object: Value, _ method: String, _ args: [Value], _ kwargs: [(String, Value)]
    ) throws -> Value {
        func arg(_ i: Int, _ key: String) -> Value? { i < args.count ? args[i] : kwargs.first { $0.0 == key }?.1 }
        switch object {
        case let .string(s):
            switch method {
            case "strip", "lstrip", "rstrip":
                return .string(
                    Self.strip(
                        s, chars: arg(0, "chars")?.stringValue, left: method != "rstrip", right: method != "lstrip"))
            case "split", "rsplit":
                var maxSplit = -1
                if case let .int(n)? = arg(1, "maxsplit") { maxSplit = n }
                let parts = try Self.split(
                    s, arg(0, "sep")?.stringValue, maxSplit: maxSplit, fromRight: method == "rsplit")
                return .list(parts.map { .string($0) })
            case "startswith", "endswith":
                let candidates: [String]
                switch arg(0, "prefix") {
                case let .string(p)?: candidates = [p]
                case let .list(items)?, let .tuple(items)?: candidates = items.compactMap(\.stringValue)
                default: throw JinjaError(.runtime, "\(method) needs a string or a tuple of strings")
                }
                let scalars = Array(s.unicodeScalars)
                return .bool(
                    candidates.contains { c in
                        let p = Array(c.unicodeScalars)
                        return method == "startswith"
                            ? scalars.starts(with: p) : scalars.reversed().starts(with: p.reversed())
                    })
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "title": return .string(Self.title(s))
            case "capitalize": return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
            case "replace":
                guard let old = arg(0, "old")?.stringValue, let new = arg(1, "new")?.stringValue else {
                    throw JinjaError(.runtime, "replace needs two strings")
                }
                var count = -1
                if case let .int(n)? = arg(2, "count") { count = n }
                return .string(Self.replace(s, old, new, count: count))
            case "find":
                guard let needle = arg(0, "sub")?.stringValue else { throw JinjaError(.runtime, "find needs a string") }
                return .int(Self.find(s, needle) ?? -1)
            case "count":
                guard let needle = arg(0, "sub")?.stringValue, !needle.isEmpty else {
                    throw JinjaError(.runtime, "count needs a non-empty string")
                }
                var n = 0
                var from = 0
                while let at = Self.find(s, needle, from: from) {
                    n += 1
                    from = at + needle.unicodeScalars.count
                }
                return .int(n)
            case "join":
                guard let items = arg(0, "iterable") else { throw JinjaError(.runtime, "join needs a list") }
                return .string(try Self.items(of: items).map(\.str).joined(separator: s))
            case "splitlines":
                return .list(
                    s.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { .string(String($0)) })
            case "isdigit":
                return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal })
            case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(Self.isPythonSpace))
            default: break
            }
        case let .dict(d):
            switch method {
            case "get":
                guard let key = arg(0, "key")?.stringValue else { return arg(1, "default") ?? .none }
                return d[key] ?? arg(1, "default") ?? .none
            case "items": return .list(d.pairs.map { .tuple([.string($0.0), $0.1]) })
            case "keys": return .list(d.keys.map { .string($0) })
            case "values": return .list(d.pairs.map(\.1))
            default:
                if case let .function(f)? = d[method] { return try f.call(args, kwargs) }
            }
        case let .undefined(name):
            throw JinjaError(.runtime, "'\(name)' is undefined")
        case .list:
            if ["append", "extend", "pop", "insert", "remove", "clear", "sort", "reverse"].contains(method) {
                throw JinjaError(.runtime, "lists cannot be modified in a chat template (\(method))")
            }
        case let .namespace(ns):
            if case let .function(f)? = ns.attributes[method] { return try f.call(args, kwargs) }
        default: break
        }
        throw JinjaError(.runtime, "'\(object.typeName)' object has no attribute '\(method)'")
    }

    /// Python's `str.isspace` characters, which `strip()` removes.
    static func isPythonSpace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
    }

    static func strip(_ s: String, chars: String?, left: Bool, right: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? isPythonSpace(c) }
        var v = Substring(s).unicodeScalars
        if left { while let f = v.first, drop(f) { v.removeFirst() } }
        if right { while let l = v.last, drop(l) { v.removeLast() } }
        return String(String.UnicodeScalarView(v))
    }

    static func split(_ s: String, _ sep: String?, maxSplit: Int, fromRight: Bool) throws -> [String] {
        let scalars = Array(s.unicodeScalars)
        func str(_ a: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(a)) }
        guard let sep else {
            // Runs of whitespace, no empty strings.
            var words: [ArraySlice<Unicode.Scalar>] = []
            var i = 0
            while i < scalars.count {
                while i < scalars.count, isPythonSpace(scalars[i]) { i += 1 }
                guard i < scalars.count else { break }
                if maxSplit >= 0, words.count == maxSplit, !fromRight {
                    var end = scalars.count
                    while end > i, isPythonSpace(scalars[end - 1]) { end -= 1 }
                    words.append(scalars[i..<end])
                    break
                }
                var j = i
                while j < scalars.count, !isPythonSpace(scalars[j]) { j += 1 }
                words.append(scalars[i..<j])
                i = j
            }
            return words.map(str)
        }
        let p = Array(sep.unicodeScalars)
        guard !p.isEmpty else { throw JinjaError(.runtime, "empty separator") }
        var cuts: [Int] = []
        var i = 0
        while i + p.count <= scalars.count {
            if scalars[i..<(i + p.count)].elementsEqual(p) {
                cuts.append(i)
                i += p.count
            } else {
                i += 1
            }
        }
        if maxSplit >= 0, cuts.count > maxSplit {
            cuts = fromRight ? Array(cuts.suffix(maxSplit)) : Array(cuts.prefix(maxSplit))
        }
        var out: [String] = []
        var start = 0
        for c in cuts {
            out.append(str(scalars[start..<c]))
            start = c + p.count
        }
        out.append(str(scalars[start...]))
        return out
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        guard !old.isEmpty else { return s }
        let parts = (try? split(s, old, maxSplit: count, fromRight: false)) ?? [s]
        return parts.joined(separator: new)
    }

    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            let cased = c.properties.isCased
            out += previousCased ? String(c).lowercased() : String(c).uppercased()
            previousCased = cased
        }
        return out
    }
}

extension Value {
    var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }
}
