/// Why a template could not be parsed or rendered.
public struct JinjaError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The template is not valid Jinja (or uses syntax this interpreter does not implement).
        case syntax
        /// The template called `raise_exception(message)`: `message` is the template's own words.
        case raised
        /// Rendering failed: an undefined value used, a type error, an unknown filter.
        case runtime
    }

    public var code: Code
    public var message: String
    /// 1-based line of the template where it happened, when known.
    public var line: Int?

    public init(_ code: Code, _ message: String, line: Int? = nil) {
        self.code = code
        self.message = message
        self.line = line
    }

    public var description: String {
        switch code {
        case .raised: return "the chat template raised an error: \(message)"
        default: return message + (line.map { " (template line \($0))" } ?? "")
        }
    }
}

/// The template source cut into text and tags, with Jinja's whitespace rules applied as
/// transformers configures its environment: `trim_blocks` (the first newline after a block or
/// comment tag is dropped), `lstrip_blocks` (spaces and tabs before a block or comment tag at the
/// start of a line are dropped), `-` inside a delimiter (all whitespace on that side is dropped),
/// `+` (no lstrip), and `keep_trailing_newline` off (one final newline of the source is dropped).
enum Chunk: Equatable {
    case text(String)
    case output([Token], line: Int)
    case statement([Token], line: Int)
}

enum Token: Equatable {
    case name(String)
    case string(String)
    case int(Int)
    case float(Double)
    case op(String)
}

enum Lexer {
    static func chunks(_ source: String) throws -> [Chunk] {
        // jinja2 normalizes every newline to \n first, then drops one final newline.
        var src = Array(source.replacingNewlines().unicodeScalars)
        if src.last == "\n" { src.removeLast() }
        var raw: [(kind: Character, body: [Unicode.Scalar], line: Int, stripLeft: Bool, stripRight: Bool, plus: Bool)] =
            []
        var texts: [[Unicode.Scalar]] = [[]]
        var i = 0
        var line = 1
        while i < src.count {
            if src[i] == "{", i + 1 < src.count, src[i + 1] == "{" || src[i + 1] == "%" || src[i + 1] == "#" {
                let kind = Character(src[i + 1])
                let close: [Unicode.Scalar] = kind == "{" ? ["}", "}"] : kind == "%" ? ["%", "}"] : ["#", "}"]
                var j = i + 2
                var stripLeft = false
                var plus = false
                if j < src.count, src[j] == "-" {
                    stripLeft = true
                    j += 1
                } else if j < src.count, src[j] == "+" {
                    plus = true
                    j += 1
                }
                let bodyStart = j
                var end = -1
                var quote: Unicode.Scalar?
                while j + 1 < src.count {
                    if let q = quote {
                        if src[j] == "\\" {
                            j += 2
                            continue
                        }
                        if src[j] == q { quote = nil }
                    } else if kind != "#" && (src[j] == "'" || src[j] == "\"") {
                        quote = src[j]
                    } else if src[j] == close[0] && src[j + 1] == close[1] {
                        end = j
                        break
                    }
                    j += 1
                }
                guard end >= 0 else {
                    throw JinjaError(.syntax, "unclosed \"{\(kind)\" tag", line: line)
                }
                var bodyEnd = end
                var stripRight = false
                if bodyEnd > bodyStart, src[bodyEnd - 1] == "-" {
                    stripRight = true
                    bodyEnd -= 1
                } else if bodyEnd > bodyStart, src[bodyEnd - 1] == "+" {
                    bodyEnd -= 1
                }
                let body = Array(src[bodyStart..<max(bodyStart, bodyEnd)])
                raw.append((kind, body, line, stripLeft, stripRight, plus))
                texts.append([])
                line += src[i..<(end + 2)].filter { $0 == "\n" }.count
                i = end + 2
            } else {
                if src[i] == "\n" { line += 1 }
                texts[texts.count - 1].append(src[i])
                i += 1
            }
        }
        // Whitespace control on each text from the tags on either side: the right side first,
        // on the text as it stands in the source (lstrip_blocks asks where its lines start).
        for k in texts.indices {
            var t = texts[k]
            if k < raw.count {
                let after = raw[k]
                if after.stripLeft {
                    while let l = t.last, l.properties.isWhitespace { t.removeLast() }
                } else if after.kind != "{" && !after.plus {
                    // lstrip_blocks: only spaces and tabs between the line's start and the tag.
                    let lineStart = t.lastIndex(of: "\n").map { $0 + 1 } ?? (k == 0 ? 0 : nil)
                    if let lineStart, t[lineStart...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                        t.removeSubrange(lineStart...)
                    }
                }
            }
            if k > 0 {
                let before = raw[k - 1]
                if before.stripRight {
                    while let f = t.first, f.properties.isWhitespace { t.removeFirst() }
                } else if before.kind != "{", t.first == "\n" {
                    t.removeFirst()  // trim_blocks
                }
            }
            texts[k] = t
        }
        var out: [Chunk] = []
        for k in texts.indices {
            if !texts[k].isEmpty {
                var v = String.UnicodeScalarView()
                v.append(contentsOf: texts[k])
                out.append(.text(String(v)))
            }
            guard k < raw.count else { continue }
            let tag = raw[k]
            switch tag.kind {
            case "{": out.append(.output(try tokens(tag.body, line: tag.line), line: tag.line))
            case "%": out.append(.statement(try tokens(tag.body, line: tag.line), line: tag.line))
            default: break
            }
        }
        return out
    }

    static let operators = [
        "**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}",
        ",", ".", ":", "|",
    ]

    static func tokens(_ body: [Unicode.Scalar], line: Int) throws -> [Token] {
        var out: [Token] = []
        var i = 0
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
        while i < body.count {
            let c = body[i]
            if c.properties.isWhitespace {
                i += 1
            } else if isIdentStart(c) {
                var j = i
                while j < body.count, isIdentStart(body[j]) || ("0"..."9").contains(body[j]) { j += 1 }
                out.append(.name(String(String.UnicodeScalarView(body[i..<j]))))
                i = j
            } else if ("0"..."9").contains(c) {
                var j = i
                var isFloat = false
                while j < body.count {
                    if ("0"..."9").contains(body[j]) || body[j] == "_" {
                        j += 1
                    } else if body[j] == ".", !isFloat, j + 1 < body.count, ("0"..."9").contains(body[j + 1]) {
                        isFloat = true
                        j += 1
                    } else if body[j] == "e" || body[j] == "E", j + 1 < body.count,
                        ("0"..."9").contains(body[j + 1]) || body[j + 1] == "-" || body[j + 1] == "+"
                    {
                        isFloat = true
                        j += 2
                    } else {
                        break
                    }
                }
                let text = String(String.UnicodeScalarView(body[i..<j])).replacingOccurrences(of: "_", with: "")
                if isFloat {
                    guard let v = Double(text) else { throw JinjaError(.syntax, "bad number \(text)", line: line) }
                    out.append(.float(v))
                } else {
                    guard let v = Int(text) else { throw JinjaError(.syntax, "bad number \(text)", line: line) }
                    out.append(.int(v))
                }
                i = j
            } else if c == "'" || c == "\"" {
                var j = i + 1
                var s = String.UnicodeScalarView()
                while j < body.count, body[j] != c {
                    if body[j] == "\\", j + 1 < body.count {
                        j += 1
                        switch body[j] {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        case "r": s.append("\r")
                        case "0": s.append("\0")
                        case "\\": s.append("\\")
                        case "'": s.append("'")
                        case "\"": s.append("\"")
                        case "u", "x", "U":
                            let width = body[j] == "x" ? 2 : body[j] == "u" ? 4 : 8
                            let digits = String(
                                String.UnicodeScalarView(body[(j + 1)..<min(body.count, j + 1 + width)]))
                            guard digits.unicodeScalars.count == width, let v = UInt32(digits, radix: 16),
                                let u = Unicode.Scalar(v)
                            else {
                                throw JinjaError(.syntax, "bad \\\(body[j]) escape in a string", line: line)
                            }
                            s.append(u)
                            j += width
                        default:
                            // Python keeps unknown escapes as written.
                            s.append("\\")
                            s.append(body[j])
                        }
                    } else {
                        s.append(body[j])
                    }
                    j += 1
                }
                guard j < body.count else { throw JinjaError(.syntax, "unterminated string", line: line) }
                out.append(.string(String(s)))
                i = j + 1
            } else {
                let rest = String(String.UnicodeScalarView(body[i..<min(body.count, i + 2)]))
                guard let op = operators.first(where: { rest.hasPrefix($0) }) else {
                    throw JinjaError(.syntax, "unexpected character \(String(c).debugDescription)", line: line)
                }
                out.append(.op(op))
                i += op.unicodeScalars.count
            }
        }
        return out
    }
}

extension String {
    /// Jinja's `newline_sequence`: `\r\n` and `\r` in template data become `\n`.
    fileprivate func replacingNewlines() -> String {
        guard unicodeScalars.contains("\r") else { return self }
        var out = String.UnicodeScalarView()
        var it = unicodeScalars.makeIterator()
        var pending = it.next()
        while let c = pending {
            pending = it.next()
            if c == "\r" {
                out.append("\n")
                if pending == "\n" { pending = it.next() }
            } else {
                out.append(c)
            }
        }
        return String(out)
    }
}
