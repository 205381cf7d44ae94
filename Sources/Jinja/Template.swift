import Foundation

/// A Jinja template for the subset chat templates use, rendering what jinja2 renders in the
/// environment transformers' `apply_chat_template` sets up (`trim_blocks`, `lstrip_blocks`,
/// `raise_exception`, `namespace`, a non-escaping `tojson`, `strftime_now`).
///
/// Parsed once; `render` is pure: the same context gives the same text.
public struct Template: Sendable {
    let nodes: [Node]

    public init(_ source: String) throws {
        nodes = try Parser.parse(source)
    }

    /// Renders with `context` as the global variables (`messages`, `bos_token`, …).
    public func render(_ context: [String: Value]) throws -> String {
        var interpreter = Interpreter(globals: Interpreter.builtins.merging(context) { $1 })
        var out = ""
        _ = try interpreter.run(nodes, into: &out)
        return out
    }
}

struct Interpreter: Sendable {
    /// Innermost scope last. `for` bodies and macros push one; `if` does not (as in jinja2).
    var scopes: [[String: Value]]
    /// Shared by a render and the macros it calls: a template from a model repository is
    /// untrusted, so its work and its output are bounded (an error, not a hang or a crash).
    let budget: Budget

    init(globals: [String: Value], budget: Budget = Budget()) {
        scopes = [globals]
        self.budget = budget
    }

    final class Budget: @unchecked Sendable {
        var steps = 0
        static let maxSteps = 5_000_000
        static let maxOutput = 32 << 20

        func spend(line: Int? = nil) throws {
            steps += 1
            if steps > Self.maxSteps {
                throw JinjaError(.runtime, "the template runs too long (over \(Self.maxSteps) steps)", line: line)
            }
        }
    }

    static func checkSize(_ count: Int) throws {
        if count > Budget.maxOutput {
            throw JinjaError(.runtime, "the template's output grows past \(Budget.maxOutput >> 20) MiB")
        }
    }

    enum Flow { case normal, breakLoop, continueLoop }

    static let builtins: [String: Value] = [
        "raise_exception": .function(
            .init(name: "raise_exception") { args, _ in
                throw JinjaError(.raised, args.first?.str ?? "raise_exception() called")
            }),
        "namespace": .function(
            .init(name: "namespace") { args, kwargs in
                var d = Value.Dict()
                if case let .dict(initial)? = args.first { d = initial }
                for (k, v) in kwargs { d[k] = v }
                return .namespace(Value.Namespace(d))
            }),
        "range": .function(
            .init(name: "range") { args, _ in
                let n = try args.map { v -> Int in
                    guard case let .int(i) = v else { throw JinjaError(.runtime, "range() takes integers") }
                    return i
                }
                let (start, stop, step) =
                    n.count == 1
                    ? (0, n[0], 1) : n.count == 2 ? (n[0], n[1], 1) : n.count == 3 ? (n[0], n[1], n[2]) : (0, 0, 0)
                guard step != 0, n.count >= 1, n.count <= 3 else {
                    throw JinjaError(.runtime, "range() takes 1 to 3 integers")
                }
                guard (stop - start) / step < 100_000 else { throw JinjaError(.runtime, "range() too long") }
                return .list(Swift.stride(from: start, to: stop, by: step).map { .int($0) })
            }),
        "dict": .function(
            .init(name: "dict") { args, kwargs in
                var d = Value.Dict()
                if case let .dict(initial)? = args.first { d = initial }
                for (k, v) in kwargs { d[k] = v }
                return .dict(d)
            }),
        "strftime_now": .function(
            .init(name: "strftime_now") { args, _ in
                var t = time(nil)
                var tmValue = tm()
                localtime_r(&t, &tmValue)
                var buffer = [Int8](repeating: 0, count: 256)
                let n = strftime(&buffer, buffer.count, args.first?.str ?? "", &tmValue)
                return .string(String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }),
    ]

    func lookup(_ name: String) -> Value {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        return .undefined(name)
    }

    mutating func run(_ nodes: [Node], into out: inout String) throws -> Flow {
        for node in nodes {
            try budget.spend()
            switch node {
            case let .text(t):
                out += t
                try Self.checkSize(out.utf8.count)
            case let .output(e, line):
                out += try at(line) { try eval(e).str }
                try Self.checkSize(out.utf8.count)
            case let .conditional(branches, otherwise):
                var taken = false
                for (condition, body) in branches where try eval(condition).truthy {
                    taken = true
                    let flow = try run(body, into: &out)
                    if flow != .normal { return flow }
                    break
                }
                if !taken {
                    let flow = try run(otherwise, into: &out)
                    if flow != .normal { return flow }
                }
            case let .loop(targets, iterable, filter, body, otherwise, line):
                try at(line) { try loop(targets, iterable, filter, body, otherwise, into: &out) }
            case let .assign(target, e, line):
                let v = try at(line) { try eval(e) }
                switch target {
                case let .names(names):
                    if names.count == 1 {
                        scopes[scopes.count - 1][names[0]] = v
                    } else {
                        let items = try at(line) { try Self.items(of: v) }
                        guard items.count == names.count else {
                            throw JinjaError(
                                .runtime, "cannot unpack \(items.count) values into \(names.count)", line: line)
                        }
                        for (n, item) in zip(names, items) { scopes[scopes.count - 1][n] = item }
                    }
                case let .attribute(object, attribute):
                    guard case let .namespace(ns) = lookup(object) else {
                        throw JinjaError(
                            .runtime, "cannot assign attribute on non-namespace object \(object)", line: line)
                    }
                    ns.attributes[attribute] = v
                }
            case let .capture(name, body):
                var captured = ""
                _ = try run(body, into: &captured)
                scopes[scopes.count - 1][name] = .string(captured)
            case let .macro(name, parameters, body):
                scopes[scopes.count - 1][name] = makeMacro(name, parameters, body)
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
        }
        return .normal
    }

    func at<T>(_ line: Int, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var e as JinjaError {
            if e.line == nil { e.line = line }
            throw e
        }
    }

    mutating func at<T>(_ line: Int, _ body: (inout Interpreter) throws -> T) throws -> T {
        do {
            return try body(&self)
        } catch var e as JinjaError {
            if e.line == nil { e.line = line }
            throw e
        }
    }

    mutating func loop(
        _ targets: [String], _ iterable: Expr, _ filter: Expr?, _ body: [Node], _ otherwise: [Node],
        into out: inout String
    ) throws {
        let source = try eval(iterable)
        var items: [Value]
        switch source {
        case let .dict(d): items = d.keys.map { .string($0) }
        case .undefined: items = []
        default: items = try Self.items(of: source)
        }
        func bind(_ item: Value, into scope: inout [String: Value]) throws {
            if targets.count == 1 {
                scope[targets[0]] = item
            } else {
                let parts = try Self.items(of: item)
                guard parts.count == targets.count else {
                    throw JinjaError(.runtime, "cannot unpack \(parts.count) values into \(targets.count)")
                }
                for (t, p) in zip(targets, parts) { scope[t] = p }
            }
        }
        if let filter {
            var kept: [Value] = []
            for item in items {
                var scope: [String: Value] = [:]
                try bind(item, into: &scope)
                scopes.append(scope)
                defer { scopes.removeLast() }
                if try eval(filter).truthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try run(otherwise, into: &out)
            return
        }
        let n = items.count
        for (index, item) in items.enumerated() {
            var scope: [String: Value] = [:]
            try bind(item, into: &scope)
            scope["loop"] = .dict(
                Value.Dict([
                    ("index", .int(index + 1)), ("index0", .int(index)), ("revindex", .int(n - index)),
                    ("revindex0", .int(n - index - 1)), ("first", .bool(index == 0)), ("last", .bool(index == n - 1)),
                    ("length", .int(n)), ("previtem", index > 0 ? items[index - 1] : .undefined("previtem")),
                    ("nextitem", index + 1 < n ? items[index + 1] : .undefined("nextitem")),
                    (
                        "cycle",
                        .function(
                            .init(name: "cycle") { args, _ in args.isEmpty ? .none : args[index % args.count] })
                    ),
                ]))
            scopes.append(scope)
            try budget.spend()
            let flow = try run(body, into: &out)
            scopes.removeLast()
            if flow == .breakLoop { break }
        }
    }

    func makeMacro(_ name: String, _ parameters: [(String, Expr?)], _ body: [Node]) -> Value {
        // Macros see the globals as they are when called, and their own arguments.
        let captured = self
        return .function(
            .init(name: name) { args, kwargs in
                var inner = Interpreter(globals: captured.scopes.first ?? [:], budget: captured.budget)
                var scope: [String: Value] = [:]
                for (i, (p, defaultValue)) in parameters.enumerated() {
                    if i < args.count {
                        scope[p] = args[i]
                    } else if let kw = kwargs.first(where: { $0.0 == p }) {
                        scope[p] = kw.1
                    } else if let defaultValue {
                        scope[p] = try inner.eval(defaultValue)
                    } else {
                        scope[p] = .undefined(p)
                    }
                }
                inner.scopes.append(scope)
                var out = ""
                _ = try inner.run(body, into: &out)
                return .string(out)
            })
    }

    static func items(of v: Value) throws -> [Value] {
        switch v {
        case let .list(a), let .tuple(a): return a
        case let .string(s): return s.unicodeScalars.map { .string(String($0)) }
        case let .dict(d): return d.keys.map { .string($0) }
        case let .undefined(name): throw JinjaError(.runtime, "'\(name)' is undefined")
        default: throw JinjaError(.runtime, "'\(v.typeName)' object is not iterable")
        }
    }
}

extension Interpreter {
    mutating func eval(_ e: Expr) throws -> Value {
        switch e {
        case let .literal(v): return v
        case let .name(n): return lookup(n)
        case let .list(items): return .list(try items.map { try eval($0) })
        case let .tuple(items): return .tuple(try items.map { try eval($0) })
        case let .dict(pairs):
            var d = Value.Dict()
            for (k, v) in pairs {
                guard case let .string(key) = try eval(k) else {
                    throw JinjaError(.runtime, "dict keys must be strings")
                }
                d[key] = try eval(v)
            }
            return .dict(d)
        case let .attribute(base, name):
            return try Self.attribute(try eval(base), name)
        case let .index(base, index):
            return try Self.item(try eval(base), try eval(index))
        case let .slice(base, start, stop, step):
            return try Self.slice(
                try eval(base), try start.map { try eval($0) }, try stop.map { try eval($0) },
                try step.map { try eval($0) })
        case let .call(callee, args, kwargs):
            let a = try args.map { try eval($0) }
            let k = try kwargs.map { ($0.0, try eval($0.1)) }
            if case let .attribute(object, method) = callee {
                return try Self.callMethod(try eval(object), method, a, k)
            }
            let f = try eval(callee)
            guard case let .function(fn) = f else {
                if case let .undefined(name) = f { throw JinjaError(.runtime, "'\(name)' is undefined") }
                throw JinjaError(.runtime, "'\(f.typeName)' object is not callable")
            }
            return try fn.call(a, k)
        case let .filter(base, name, args, kwargs):
            return try Self.filter(
                name, try eval(base), try args.map { try eval($0) }, try kwargs.map { ($0.0, try eval($0.1)) })
        case let .test(base, name, args, negated):
            let r = try Self.test(name, try eval(base), try args.map { try eval($0) })
            return .bool(r != negated)
        case let .not(x): return .bool(!(try eval(x).truthy))
        case let .negate(x):
            switch try eval(x) {
            case let .int(i): return .int(-i)
            case let .double(d): return .double(-d)
            case let .bool(b): return .int(b ? -1 : 0)
            case let v: throw JinjaError(.runtime, "bad operand type for unary -: '\(v.typeName)'")
            }
        case let .and(a, b):
            let x = try eval(a)
            return x.truthy ? try eval(b) : x
        case let .or(a, b):
            let x = try eval(a)
            return x.truthy ? x : try eval(b)
        case let .binary(op, a, b):
            return try Self.binary(op, try eval(a), try eval(b))
        case let .compare(first, ops):
            var left = try eval(first)
            for (op, rightExpr) in ops {
                let right = try eval(rightExpr)
                guard try Self.compare(op, left, right) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case let .ternary(value, condition, otherwise):
            if try eval(condition).truthy { return try eval(value) }
            return try otherwise.map { try eval($0) } ?? .undefined("ternary")
        }
    }

    static func attribute(_ v: Value, _ name: String) throws -> Value {
        switch v {
        case let .dict(d): return d[name] ?? .undefined(name)
        case let .namespace(ns): return ns.attributes[name] ?? .undefined(name)
        case let .undefined(base): throw JinjaError(.runtime, "'\(base)' is undefined")
        default: return .undefined(name)
        }
    }

    static func item(_ v: Value, _ index: Value) throws -> Value {
        switch (v, index) {
        case let (.list(a), .int(i)), let (.tuple(a), .int(i)):
            let j = i < 0 ? a.count + i : i
            return j >= 0 && j < a.count ? a[j] : .undefined("[\(i)]")
        case let (.string(s), .int(i)):
            let scalars = Array(s.unicodeScalars)
            let j = i < 0 ? scalars.count + i : i
            return j >= 0 && j < scalars.count ? .string(String(scalars[j])) : .undefined("[\(i)]")
        case let (.dict(d), .string(k)): return d[k] ?? .undefined(k)
        case let (.namespace(ns), .string(k)): return ns.attributes[k] ?? .undefined(k)
        case let (.undefined(base), _): throw JinjaError(.runtime, "'\(base)' is undefined")
        default: return .undefined("[\(index.repr)]")
        }
    }

    static func slice(_ v: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws -> Value {
        func int(_ x: Value?) throws -> Int? {
            switch x {
            case nil, .none?: return nil
            case let .int(i)?: return i
            default: throw JinjaError(.runtime, "slice indices must be integers or None")
            }
        }
        let step = try int(step) ?? 1
        guard step != 0 else { throw JinjaError(.runtime, "slice step cannot be zero") }
        func indices(_ count: Int) throws -> [Int] {
            func clamp(_ i: Int?, _ defaultValue: Int) -> Int {
                guard var i else { return defaultValue }
                if i < 0 { i += count }
                return step > 0 ? min(max(i, 0), count) : min(max(i, -1), count - 1)
            }
            let a = clamp(try int(start), step > 0 ? 0 : count - 1)
            let b = clamp(try int(stop), step > 0 ? count : -1)
            return Array(Swift.stride(from: a, to: b, by: step))
        }
        switch v {
        case let .list(items): return .list(try indices(items.count).map { items[$0] })
        case let .tuple(items): return .tuple(try indices(items.count).map { items[$0] })
        case let .string(s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try indices(scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        case let .undefined(name): throw JinjaError(.runtime, "'\(name)' is undefined")
        default: throw JinjaError(.runtime, "'\(v.typeName)' object is not subscriptable")
        }
    }

    static func binary(_ op: String, _ a: Value, _ b: Value) throws -> Value {
        if op == "~" {
            let (x, y) = (a.str, b.str)
            try checkSize(x.utf8.count + y.utf8.count)
            return .string(x + y)
        }
        if case let .undefined(name) = a { throw JinjaError(.runtime, "'\(name)' is undefined") }
        if case let .undefined(name) = b { throw JinjaError(.runtime, "'\(name)' is undefined") }
        switch (op, a, b) {
        case let ("+", .string(x), .string(y)):
            try checkSize(x.utf8.count + y.utf8.count)
            return .string(x + y)
        case let ("+", .list(x), .list(y)):
            try checkSize(x.count + y.count)
            return .list(x + y)
        case let ("*", .string(x), .int(n)), let ("*", .int(n), .string(x)):
            try checkSize(
                x.utf8.count.multipliedReportingOverflow(by: max(0, n)).overflow ? .max : x.utf8.count * max(0, n))
            return .string(String(repeating: x, count: max(0, n)))
        case let ("*", .list(x), .int(n)), let ("*", .int(n), .list(x)):
            try checkSize(x.count.multipliedReportingOverflow(by: max(0, n)).overflow ? .max : x.count * max(0, n))
            return .list(Array(repeating: x, count: max(0, n)).flatMap { $0 })
        default: break
        }
        let ints: (Int, Int)?
        switch (a, b) {
        case let (.int(x), .int(y)): ints = (x, y)
        case let (.bool(x), .int(y)): ints = (x ? 1 : 0, y)
        case let (.int(x), .bool(y)): ints = (x, y ? 1 : 0)
        default: ints = nil
        }
        if let (x, y) = ints {
            switch op {
            case "+": return .int(x &+ y)
            case "-": return .int(x &- y)
            case "*": return .int(x &* y)
            case "/":
                guard y != 0 else { throw JinjaError(.runtime, "division by zero") }
                return .double(Double(x) / Double(y))
            case "//":
                guard y != 0 else { throw JinjaError(.runtime, "integer division or modulo by zero") }
                let q = x / y
                return .int((x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q)
            case "%":
                guard y != 0 else { throw JinjaError(.runtime, "integer division or modulo by zero") }
                let r = x % y
                return .int(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case "**":
                guard y >= 0 else { return .double(pow(Double(x), Double(y))) }
                return .int(Int(pow(Double(x), Double(y))))
            default: break
            }
        }
        if let x = a.number, let y = b.number, !(a.isString || b.isString) {
            switch op {
            case "+": return .double(x + y)
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/":
                guard y != 0 else { throw JinjaError(.runtime, "float division by zero") }
                return .double(x / y)
            case "//":
                guard y != 0 else { throw JinjaError(.runtime, "float floor division by zero") }
                return .double((x / y).rounded(.down))
            case "%":
                guard y != 0 else { throw JinjaError(.runtime, "float modulo") }
                let r = fmod(x, y)
                return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case "**": return .double(pow(x, y))
            default: break
            }
        }
        throw JinjaError(.runtime, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    static func compare(_ op: String, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case "==": return a == b
        case "!=": return a != b
        case "in", "not in":
            let found: Bool
            switch b {
            case let .string(s):
                guard case let .string(needle) = a else {
                    throw JinjaError(.runtime, "'in <string>' requires string as left operand, not \(a.typeName)")
                }
                found = Self.contains(s, needle)
            case let .list(items), let .tuple(items): found = items.contains(a)
            case let .dict(d):
                if case let .string(k) = a { found = d[k] != nil } else { found = false }
            case let .undefined(name): throw JinjaError(.runtime, "'\(name)' is undefined")
            default: throw JinjaError(.runtime, "argument of type '\(b.typeName)' is not iterable")
            }
            return found == (op == "in")
        default:
            let order: Int
            if let x = a.number, let y = b.number, !(a.isString || b.isString) {
                order = x < y ? -1 : x > y ? 1 : 0
            } else if case let .string(x) = a, case let .string(y) = b {
                let xs = Array(x.unicodeScalars).map(\.value)
                let ys = Array(y.unicodeScalars).map(\.value)
                order = xs.lexicographicallyPrecedes(ys) ? -1 : xs == ys ? 0 : 1
            } else {
                throw JinjaError(.runtime, "'\(op)' not supported between '\(a.typeName)' and '\(b.typeName)'")
            }
            switch op {
            case "<": return order < 0
            case ">": return order > 0
            case "<=": return order <= 0
            default: return order >= 0
            }
        }
    }

    /// Substring search by Unicode scalars (Python's `in`), never by Swift's canonical equivalence.
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        find(haystack, needle) != nil
    }

    static func find(_ haystack: String, _ needle: String, from: Int = 0) -> Int? {
        let h = Array(haystack.unicodeScalars)
        let n = Array(needle.unicodeScalars)
        if n.isEmpty { return from <= h.count ? from : nil }
        guard h.count >= n.count, from <= h.count - n.count else { return nil }
        for i in from...(h.count - n.count) where h[i] == n[0] && h[i..<(i + n.count)].elementsEqual(n) { return i }
        return nil
    }
}

extension Value {
    var isString: Bool {
        if case .string = self { return true }
        return false
    }
}
