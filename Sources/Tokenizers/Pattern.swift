import Foundation
import StrictJSON

/// A pattern from a `tokenizer.json` (`{"String": …}` or `{"Regex": …}`), compiled once.
///
/// The HF `tokenizers` library compiles `Regex` patterns with Oniguruma; hasskit runs them on
/// ICU (Foundation's `NSRegularExpression`), which reads the same syntax for everything these
/// files use (`\p{L}`, `\p{N}`, `(?i:…)`, lookahead, possessive and counted quantifiers, nested
/// classes) with one difference that is translated here: Oniguruma's `\s`/`\S` are Unicode
/// `White_Space` (including U+000B and U+0085), ICU's omit those two. A `String` pattern is
/// matched literally.
struct Pattern: @unchecked Sendable {
    /// `White_Space` as an ICU set, for `\s` (a nested set is a union inside a class too).
    static let whiteSpace = #"[\t\n\x{0B}\f\r\x{85}\p{Z}]"#
    static let notWhiteSpace = #"[^\t\n\x{0B}\f\r\x{85}\p{Z}]"#

    let source: String
    private let regex: NSRegularExpression

    /// - Parameter json: the `pattern` member, `{"String": s}` or `{"Regex": r}`.
    init(json: JSONValue, context: String) throws {
        if let s = json["String"]?.stringValue {
            try self.init(literal: s, context: context)
        } else if let r = json["Regex"]?.stringValue {
            try self.init(regex: r, context: context)
        } else {
            throw TokenizerError(.malformed, "\(context): pattern is neither {\"String\"} nor {\"Regex\"}")
        }
    }

    init(literal: String, context: String) throws {
        source = literal
        regex = try Self.compile(NSRegularExpression.escapedPattern(for: literal), shown: literal, context: context)
    }

    init(regex oniguruma: String, context: String) throws {
        source = oniguruma
        regex = try Self.compile(Self.translate(oniguruma), shown: oniguruma, context: context)
    }

    private static func compile(_ icu: String, shown: String, context: String) throws -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: icu)
        } catch {
            throw TokenizerError(.unsupported, "\(context): regex \(shown.debugDescription) does not compile")
        }
    }

    /// Rewrites the Oniguruma escapes whose meaning differs in ICU; everything else is kept.
    static func translate(_ pattern: String) -> String {
        var out = ""
        var it = pattern.unicodeScalars.makeIterator()
        while let c = it.next() {
            guard c == "\\" else {
                out.unicodeScalars.append(c)
                continue
            }
            guard let e = it.next() else {
                out += "\\"
                break
            }
            switch e {
            case "s": out += whiteSpace
            case "S": out += notWhiteSpace
            default:
                out += "\\"
                out.unicodeScalars.append(e)
            }
        }
        return out
    }

    /// The text split into pieces that cover it, each flagged as a match or not (empty matches
    /// included, as the library's `find_matches` gives them).
    func pieces(_ text: String) -> [(text: Substring, isMatch: Bool)] {
        if text.isEmpty { return [] }
        let utf16 = text.utf16
        var out: [(Substring, Bool)] = []
        var previous = text.startIndex
        // Offsets advance monotonically; indices are made from UTF-16 offsets directly, since
        // `Range(_:in:)` refuses ranges that end inside a grapheme (a Thai vowel mark, say).
        var cursor = utf16.startIndex
        var cursorOffset = 0
        func index(_ offset: Int) -> String.Index {
            cursor = utf16.index(cursor, offsetBy: offset - cursorOffset)
            cursorOffset = offset
            return cursor
        }
        for m in regex.matches(in: text, range: NSRange(location: 0, length: utf16.count)) {
            let lower = index(m.range.location)
            let upper = index(m.range.location + m.range.length)
            if previous != lower { out.append((text.unicodeScalars[previous..<lower].substring, false)) }
            out.append((text.unicodeScalars[lower..<upper].substring, true))
            previous = upper
        }
        if previous != text.endIndex { out.append((text.unicodeScalars[previous...].substring, false)) }
        return out
    }

    /// `text` with every match replaced by `content`.
    func replacing(in text: String, with content: String) -> String {
        var out = ""
        for (piece, isMatch) in pieces(text) { out += isMatch ? content : String(piece) }
        return out
    }
}

extension Substring.UnicodeScalarView {
    /// The same scalars as a `Substring` (whose bounds may then fall inside a grapheme).
    var substring: Substring { Substring(self) }
}
