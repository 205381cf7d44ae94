/// The parsed template.
indirect enum Node: Sendable {
    case text(String)
    case output(Expr, line: Int)
    case conditional([(Expr, [Node])], otherwise: [Node])
    case loop(targets: [String], iterable: Expr, filter: Expr?, body: [Node], otherwise: [Node], line: Int)
    case assign(Target, Expr, line: Int)
    case capture(String, [Node])
    case macro(name: String, parameters: [(String, Expr?)], body: [Node])
    case breakLoop, continueLoop
}

enum Target: Sendable {
    case names([String])
    case attribute(String, String)
}

indirect enum Expr: Sendable {
    case literal(Value)
    case name(String)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    case attribute(Expr, String)
    case index(Expr, Expr)
    case slice(Expr, Expr?, Expr?, Expr?)
    case call(Expr, [Expr], [(String, Expr)])
    case filter(Expr, String, [Expr], [(String, Expr)])
    case test(Expr, String, [Expr], negated: Bool)
    case not(Expr)
    case negate(Expr)
    case binary(String, Expr, Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Expr, [(String, Expr)])
    case ternary(Expr, condition: Expr, otherwise: Expr?)
}

/// Recursive descent over the chunks, with jinja2's operator precedence (lowest first):
/// `x if c else y`, `or`, `and`, `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`,
/// unary `-`, then primaries with `.name`, `[…]`, calls, `| filter` and `is test`.
struct Parser {
    var chunks: [Chunk]
    var position = 0
    /// Blocks inside blocks; bounded so that a hostile template is an error, not a stack overflow.
    var depth = 0
    static let maxDepth = 128

    static func parse(_ source: String) throws -> [Node] {
        var p = Parser(chunks: try Lexer.chunks(source))
        let (nodes, end) = try p.block(until: [])
        if let end { throw JinjaError(.syntax, "unexpected {% \(end.0) %}", line: end.1) }
        return nodes
    }

    /// Parses nodes until a statement whose keyword is in `stops`; returns it (with its
    /// tokens after the keyword kept in `pending`).
    mutating func block(until stops: Set<String>) throws -> ([Node], (String, Int, [Token])?) {
        var nodes: [Node] = []
        while position < chunks.count {
            let chunk = chunks[position]
            position += 1
            switch chunk {
            case let .text(t): nodes.append(.text(t))
            case let .output(tokens, line):
                var e = ExprParser(tokens: tokens, line: line)
                let expr = try e.expression()
                try e.end()
                nodes.append(.output(expr, line: line))
            case let .statement(tokens, line):
                guard case let .name(keyword)? = tokens.first else {
                    throw JinjaError(.syntax, "a statement must start with a keyword", line: line)
                }
                let rest = Array(tokens.dropFirst())
                if stops.contains(keyword) { return (nodes, (keyword, line, rest)) }
                nodes.append(try statement(keyword, rest, line: line))
            }
        }
        if !stops.isEmpty {
            throw JinjaError(.syntax, "missing {% \(stops.sorted().joined(separator: " or ")) %}")
        }
        return (nodes, nil)
    }

    mutating func statement(_ keyword: String, _ tokens: [Token], line: Int) throws -> Node {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else {
            throw JinjaError(.syntax, "blocks nested deeper than \(Self.maxDepth)", line: line)
        }
        var e = ExprParser(tokens: tokens, line: line)
        switch keyword {
        case "if":
            var branches: [(Expr, [Node])] = []
            var condition = try e.expression()
            try e.end()
            while true {
                let (body, end) = try block(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                guard let (word, endLine, rest) = end else { break }
                if word == "elif" {
                    var c = ExprParser(tokens: rest, line: endLine)
                    condition = try c.expression()
                    try c.end()
                } else if word == "else" {
                    let (otherwise, _) = try block(until: ["endif"])
                    return .conditional(branches, otherwise: otherwise)
                } else {
                    break
                }
            }
            return .conditional(branches, otherwise: [])
        case "for":
            var targets = [try e.name()]
            while e.accept(.op(",")) { targets.append(try e.name()) }
            try e.expect(.name("in"))
            let iterable = try e.expression(allowTernary: false)
            var filter: Expr?
            if e.accept(.name("if")) { filter = try e.expression(allowTernary: false) }
            if e.accept(.name("recursive")) {
                throw JinjaError(.syntax, "recursive loops are not implemented", line: line)
            }
            try e.end()
            let (body, end) = try block(until: ["else", "endfor"])
            var otherwise: [Node] = []
            if end?.0 == "else" { otherwise = try block(until: ["endfor"]).0 }
            return .loop(
                targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: line)
        case "set":
            let first = try e.name()
            if e.accept(.op(".")) {
                let attribute = try e.name()
                try e.expect(.op("="))
                let value = try e.expression()
                try e.end()
                return .assign(.attribute(first, attribute), value, line: line)
            }
            var names = [first]
            while e.accept(.op(",")) { names.append(try e.name()) }
            if e.atEnd {
                guard names.count == 1 else { throw JinjaError(.syntax, "a block set takes one name", line: line) }
                let (body, _) = try block(until: ["endset"])
                return .capture(first, body)
            }
            try e.expect(.op("="))
            let value = try e.tupleOrExpression()
            try e.end()
            return .assign(.names(names), value, line: line)
        case "macro":
            let name = try e.name()
            try e.expect(.op("("))
            var parameters: [(String, Expr?)] = []
            while !e.accept(.op(")")) {
                if !parameters.isEmpty { try e.expect(.op(",")) }
                if e.accept(.op(")")) { break }
                let p = try e.name()
                parameters.append((p, e.accept(.op("=")) ? try e.expression() : nil))
            }
            try e.end()
            let (body, _) = try block(until: ["endmacro"])
            return .macro(name: name, parameters: parameters, body: body)
        case "break":
            try e.end()
            return .breakLoop
        case "continue":
            try e.end()
            return .continueLoop
        case "generation":
            // transformers' extension marks assistant text; rendering is the body itself.
            try e.end()
            let (body, _) = try block(until: ["endgeneration"])
            return .conditional([(.literal(.bool(true)), body)], otherwise: [])
        default:
            throw JinjaError(.syntax, "statement {% \(keyword) %} is not implemented", line: line)
        }
    }
}

struct ExprParser {
    let tokens: [Token]
    let line: Int
    var i = 0
    /// Nesting of sub-expressions, bounded like `Parser.depth`.
    var depth = 0

    init(tokens: [Token], line: Int) {
        self.tokens = tokens
        self.line = line
    }

    var atEnd: Bool { i >= tokens.count }
    var peek: Token? { i < tokens.count ? tokens[i] : nil }

    func fail(_ message: String) -> JinjaError { JinjaError(.syntax, message, line: line) }

    mutating func accept(_ t: Token) -> Bool {
        if peek == t {
            i += 1
            return true
        }
        return false
    }

    mutating func expect(_ t: Token) throws {
        guard accept(t) else {
            throw fail("expected \(Self.show(t)), found \(peek.map(Self.show) ?? "the end of the tag")")
        }
    }

    mutating func end() throws {
        if let t = peek { throw fail("unexpected \(Self.show(t))") }
    }

    mutating func name() throws -> String {
        guard case let .name(n)? = peek else {
            throw fail("expected a name, found \(peek.map(Self.show) ?? "the end")")
        }
        i += 1
        return n
    }

    static func show(_ t: Token) -> String {
        switch t {
        case let .name(n): return "'\(n)'"
        case let .string(s): return s.debugDescription
        case let .int(v): return String(v)
        case let .float(v): return String(v)
        case let .op(o): return "'\(o)'"
        }
    }

    /// `a, b` as a tuple (a list) or a single expression.
    mutating func tupleOrExpression() throws -> Expr {
        let first = try expression()
        guard peek == .op(",") else { return first }
        var items = [first]
        while accept(.op(",")) {
            if atEnd { break }
            items.append(try expression())
        }
        return .tuple(items)
    }

    mutating func nest() throws {
        depth += 1
        guard depth <= Parser.maxDepth else { throw fail("an expression nested deeper than \(Parser.maxDepth)") }
    }

    mutating func expression(allowTernary: Bool = true) throws -> Expr {
        try nest()
        defer { depth -= 1 }
        let value = try or()
        guard allowTernary, accept(.name("if")) else { return value }
        let condition = try or()
        let otherwise = accept(.name("else")) ? try expression() : nil
        return .ternary(value, condition: condition, otherwise: otherwise)
    }

    // Each link of a chain (`a + b + c`, `x.y[z]|f`) deepens the tree by one: it counts towards
    // the nesting bound until the chain's function returns.

    mutating func or() throws -> Expr {
        let start = depth
        defer { depth = start }
        var left = try and()
        while accept(.name("or")) {
            try nest()
            left = .or(left, try and())
        }
        return left
    }

    mutating func and() throws -> Expr {
        let start = depth
        defer { depth = start }
        var left = try not()
        while accept(.name("and")) {
            try nest()
            left = .and(left, try not())
        }
        return left
    }

    mutating func not() throws -> Expr {
        if accept(.name("not")) {
            try nest()
            defer { depth -= 1 }
            return .not(try not())
        }
        return try compare()
    }

    mutating func compare() throws -> Expr {
        let start = depth
        defer { depth = start }
        let left = try sum()
        var ops: [(String, Expr)] = []
        while true {
            if case let .op(o)? = peek, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                try nest()
                i += 1
                ops.append((o, try sum()))
            } else if accept(.name("in")) {
                ops.append(("in", try sum()))
            } else if peek == .name("not"), i + 1 < tokens.count, tokens[i + 1] == .name("in") {
                i += 2
                ops.append(("not in", try sum()))
            } else {
                break
            }
        }
        return ops.isEmpty ? left : .compare(left, ops)
    }

    mutating func sum() throws -> Expr {
        let start = depth
        defer { depth = start }
        var left = try concat()
        while case let .op(o)? = peek, o == "+" || o == "-" {
            try nest()
            i += 1
            left = .binary(o, left, try concat())
        }
        return left
    }

    mutating func concat() throws -> Expr {
        let start = depth
        defer { depth = start }
        var left = try product()
        while accept(.op("~")) {
            try nest()
            left = .binary("~", left, try product())
        }
        return left
    }

    mutating func product() throws -> Expr {
        let start = depth
        defer { depth = start }
        var left = try power()
        while case let .op(o)? = peek, ["*", "/", "//", "%"].contains(o) {
            try nest()
            i += 1
            left = .binary(o, left, try power())
        }
        return left
    }

    mutating func power() throws -> Expr {
        let start = depth
        defer { depth = start }
        var left = try unary()
        while accept(.op("**")) {
            try nest()
            left = .binary("**", left, try unary())
        }
        return left
    }

    mutating func unary() throws -> Expr {
        if accept(.op("-")) {
            try nest()
            defer { depth -= 1 }
            return .negate(try unary())
        }
        if accept(.op("+")) {
            try nest()
            defer { depth -= 1 }
            return try unary()
        }
        return try filtered(try postfix(try primary()))
    }

    mutating func primary() throws -> Expr {
        guard let t = peek else { throw fail("expected a value, found the end of the tag") }
        i += 1
        switch t {
        case let .name(n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case let .string(s):
            var text = s
            while case let .string(more)? = peek {  // adjacent literals concatenate
                text += more
                i += 1
            }
            return .literal(.string(text))
        case let .int(v): return .literal(.int(v))
        case let .float(v): return .literal(.double(v))
        case .op("("):
            if accept(.op(")")) { return .tuple([]) }
            let e = try expression()
            if accept(.op(",")) {
                var items = [e]
                while !accept(.op(")")) {
                    items.append(try expression())
                    if !accept(.op(",")) {
                        try expect(.op(")"))
                        break
                    }
                }
                return .tuple(items)
            }
            try expect(.op(")"))
            return e
        case .op("["):
            var items: [Expr] = []
            while !accept(.op("]")) {
                items.append(try expression())
                if !accept(.op(",")) {
                    try expect(.op("]"))
                    break
                }
            }
            return .list(items)
        case .op("{"):
            var pairs: [(Expr, Expr)] = []
            while !accept(.op("}")) {
                let k = try expression()
                try expect(.op(":"))
                pairs.append((k, try expression()))
                if !accept(.op(",")) {
                    try expect(.op("}"))
                    break
                }
            }
            return .dict(pairs)
        default:
            throw fail("unexpected \(Self.show(t))")
        }
    }

    mutating func postfix(_ base: Expr) throws -> Expr {
        let start = depth
        defer { depth = start }
        var e = base
        while true {
            if peek == .op(".") || peek == .op("[") || peek == .op("(") { try nest() }
            if accept(.op(".")) {
                if case let .int(n)? = peek {  // foo.0 is foo[0] in Jinja
                    i += 1
                    e = .index(e, .literal(.int(n)))
                } else {
                    e = .attribute(e, try name())
                }
            } else if accept(.op("[")) {
                e = try subscriptOrSlice(e)
            } else if accept(.op("(")) {
                let (args, kwargs) = try arguments()
                e = .call(e, args, kwargs)
            } else {
                return e
            }
        }
    }

    mutating func subscriptOrSlice(_ base: Expr) throws -> Expr {
        var parts: [Expr?] = [nil]
        var isSlice = false
        while !accept(.op("]")) {
            if accept(.op(":")) {
                isSlice = true
                parts.append(nil)
                continue
            }
            guard parts[parts.count - 1] == nil else { throw fail("expected ':' or ']'") }
            parts[parts.count - 1] = try expression()
        }
        if !isSlice {
            guard let index = parts[0] else { throw fail("empty subscript") }
            return .index(base, index)
        }
        guard parts.count <= 3 else { throw fail("a slice has at most three parts") }
        while parts.count < 3 { parts.append(nil) }
        return .slice(base, parts[0], parts[1], parts[2])
    }

    /// `(a, b, key=c)` after the opening parenthesis.
    mutating func arguments() throws -> ([Expr], [(String, Expr)]) {
        var args: [Expr] = []
        var kwargs: [(String, Expr)] = []
        while !accept(.op(")")) {
            if case let .name(n)? = peek, i + 1 < tokens.count, tokens[i + 1] == .op("=") {
                i += 2
                kwargs.append((n, try expression()))
            } else {
                args.append(try expression())
            }
            if !accept(.op(",")) {
                try expect(.op(")"))
                break
            }
        }
        return (args, kwargs)
    }

    mutating func filtered(_ base: Expr) throws -> Expr {
        let start = depth
        defer { depth = start }
        var e = base
        while true {
            if peek == .op("|") || peek == .name("is") { try nest() }
            if accept(.op("|")) {
                let f = try name()
                var args: [Expr] = []
                var kwargs: [(String, Expr)] = []
                if accept(.op("(")) { (args, kwargs) = try arguments() }
                e = try postfix(.filter(e, f, args, kwargs))
            } else if accept(.name("is")) {
                let negated = accept(.name("not"))
                let t = try name()
                var args: [Expr] = []
                if accept(.op("(")) {
                    args = try arguments().0
                } else if let p = peek, Self.startsTestArgument(p) {
                    args = [try postfix(try primary())]
                }
                e = .test(e, t, args, negated: negated)
            } else {
                return e
            }
        }
    }

    /// `x is divisibleby 3`, `x is sameas none`: a test may take one argument without parentheses.
    static func startsTestArgument(_ t: Token) -> Bool {
        switch t {
        case .string, .int, .float: return true
        case let .name(n): return !["and", "or", "else", "if", "in", "not", "is"].contains(n)
        case .op("["), .op("{"): return true
        default: return false
        }
    }
}
