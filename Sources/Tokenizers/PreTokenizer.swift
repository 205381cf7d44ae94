/// The split pattern LLaMA-3, Qwen2 and DeepSeek declare in their `tokenizer.json`, matched by
/// hand (no regex engine): the alternatives, tried in order at each position, are
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,maxDigits}
///     | ' '?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
///
/// with leftmost-first semantics, as the `tokenizers` library's regex engine applies them.
struct SplitPattern: Sendable, Equatable {
    /// 3 for `\p{N}{1,3}` (LLaMA-3, DeepSeek), 1 for `\p{N}` (Qwen2).
    var maxDigits: Int

    /// Recognises the two spellings hasskit supports; nil for any other pattern.
    init?(regex: String) {
        let llama3 =
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let qwen2 =
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        switch regex {
        case llama3: maxDigits = 3
        case qwen2: maxDigits = 1
        default: return nil
        }
    }

    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }
    static func isNewline(_ s: Unicode.Scalar) -> Bool { s == "\r" || s == "\n" }

    /// Splits `text` into pieces that cover it exactly.
    func split(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var pieces: [[Unicode.Scalar]] = []
        var i = 0
        while i < text.count {
            let n = matchLength(text, at: i)
            pieces.append(Array(text[i..<(i + n)]))
            i += n
        }
        return pieces
    }

    func matchLength(_ t: [Unicode.Scalar], at i: Int) -> Int {
        let n = t.count
        // 1. Contractions, case-insensitive.
        if t[i] == "'" && i + 1 < n {
            let c1 = Character(t[i + 1]).lowercased()
            if ["s", "t", "m", "d"].contains(c1) { return 2 }
            if i + 2 < n {
                let c2 = c1 + Character(t[i + 2]).lowercased()
                if ["re", "ve", "ll"].contains(c2) { return 3 }
            }
        }
        // 2. An optional non-letter/number/newline, then letters.
        var j = i
        if !Self.isLetter(t[j]) && !Self.isNumber(t[j]) && !Self.isNewline(t[j]) && j + 1 < n && Self.isLetter(t[j + 1])
        {
            j += 1
        }
        if Self.isLetter(t[j]) {
            while j < n && Self.isLetter(t[j]) { j += 1 }
            return j - i
        }
        // 3. Digits, at most maxDigits.
        if Self.isNumber(t[i]) {
            j = i
            while j < n && j - i < maxDigits && Self.isNumber(t[j]) { j += 1 }
            return j - i
        }
        // 4. An optional space, then punctuation/symbols, then newlines.
        j = i
        if t[j] == " " && j + 1 < n && !Self.isSpace(t[j + 1]) && !Self.isLetter(t[j + 1]) && !Self.isNumber(t[j + 1]) {
            j += 1
        }
        if !Self.isSpace(t[j]) && !Self.isLetter(t[j]) && !Self.isNumber(t[j]) {
            while j < n && !Self.isSpace(t[j]) && !Self.isLetter(t[j]) && !Self.isNumber(t[j]) { j += 1 }
            while j < n && Self.isNewline(t[j]) { j += 1 }
            return j - i
        }
        // Whitespace: the run starting here.
        var end = i
        while end < n && Self.isSpace(t[end]) { end += 1 }
        // 5. \s*[\r\n]+ : up to the last newline of the run.
        if let lastNewline = (i..<end).last(where: { Self.isNewline(t[$0]) }) { return lastNewline + 1 - i }
        // 6. \s+(?!\S) : the run, less its last space when a non-space follows.
        if end == n { return end - i }
        if end - i >= 2 { return end - i - 1 }
        // 7. \s+
        return end - i
    }
}
