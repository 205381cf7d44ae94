import StrictJSON

/// A token added on top of the model's vocabulary (`added_tokens` in `tokenizer.json`).
struct AddedToken: Sendable {
    var content: String
    var id: Int
    var special: Bool
    /// Matched in the normalized text (true) or in the raw input (false).
    var normalized: Bool
    var lstrip = false
    var rstrip = false
    var singleWord = false
}

/// Finds added tokens in text as the library does: leftmost-longest, with `single_word`,
/// `lstrip` and `rstrip` (the whitespace they take is consumed by the token).
struct AddedVocabulary: Sendable {
    let tokens: [AddedToken]
    /// Candidates by first scalar, longest first.
    private let byFirst: [Unicode.Scalar: [(scalars: [Unicode.Scalar], index: Int)]]

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens
        var byFirst: [Unicode.Scalar: [(scalars: [Unicode.Scalar], index: Int)]] = [:]
        for (i, t) in tokens.enumerated() {
            let scalars = Array(t.content.unicodeScalars)
            guard let first = scalars.first else { continue }
            byFirst[first, default: []].append((scalars, i))
        }
        for k in byFirst.keys { byFirst[k]!.sort { $0.scalars.count > $1.scalars.count } }
        self.byFirst = byFirst
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// A segment of input: plain text, or an added token's id.
    enum Segment: Equatable {
        case text(String, startsInput: Bool)
        case token(Int)
    }

    /// Cuts `text` at the added tokens it contains.
    func split(_ text: String, startsInput: Bool) -> [Segment] {
        if byFirst.isEmpty { return text.isEmpty ? [] : [.text(text, startsInput: startsInput)] }
        let s = Array(text.unicodeScalars)
        var out: [Segment] = []
        var textStart = 0  // start of the plain text not yet emitted
        var i = 0
        while i < s.count {
            guard let candidates = byFirst[s[i]],
                let hit = candidates.first(where: { c in
                    i + c.scalars.count <= s.count && s[i..<(i + c.scalars.count)].elementsEqual(c.scalars)
                })
            else {
                i += 1
                continue
            }
            let token = tokens[hit.index]
            var start = i
            var stop = i + hit.scalars.count
            if token.singleWord {
                let before = start > 0 && Self.isWordScalar(s[start - 1])
                let after = stop < s.count && Self.isWordScalar(s[stop])
                if before || after {
                    i = stop  // the library's search resumes after a discarded match
                    continue
                }
            }
            if token.lstrip { while start > textStart && s[start - 1].properties.isWhitespace { start -= 1 } }
            if token.rstrip { while stop < s.count && s[stop].properties.isWhitespace { stop += 1 } }
            if start > textStart {
                out.append(.text(Self.string(s[textStart..<start]), startsInput: startsInput && textStart == 0))
            }
            out.append(.token(token.id))
            textStart = stop
            i = stop
        }
        if textStart < s.count {
            out.append(.text(Self.string(s[textStart...]), startsInput: startsInput && textStart == 0))
        }
        return out
    }

    static func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic || PreTokenizer.isNumeric(c)
    }

    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        return String(v)
    }
}
