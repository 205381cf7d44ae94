import StrictJSON

/// A piece of text on its way to the model: the pre-tokenizers cut the text between added
/// tokens into pieces, and the model encodes each piece on its own.
struct Piece: Sendable, Equatable {
    var text: String
    /// The piece starts the whole input (the library's `offsets_original().0 == 0`), which
    /// `Metaspace` with `prepend_scheme: first` asks.
    var startsInput: Bool
}

/// How a split keeps the delimiters it found (the library's `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Applies the behaviour to a covering of `text` by matches and non-matches; empty pieces
    /// are dropped, as the library drops them.
    func apply(_ covering: [(text: Substring, isMatch: Bool)]) -> [Substring] {
        guard let base = covering.first?.text.base else { return [] }
        // Each entry: a range of `base` and whether it is removed.
        var out: [(Range<String.Index>, Bool)] = []
        switch self {
        case .isolated:
            out = covering.map { ($0.text.startIndex..<$0.text.endIndex, false) }
        case .removed:
            out = covering.map { ($0.text.startIndex..<$0.text.endIndex, $0.isMatch) }
        case .contiguous:
            var previous = false
            for (text, isMatch) in covering {
                if isMatch == previous, let last = out.last {
                    out[out.count - 1].0 = last.0.lowerBound..<text.endIndex
                } else {
                    out.append((text.startIndex..<text.endIndex, false))
                }
                previous = isMatch
            }
        case .mergedWithPrevious:
            var previous = false
            for (text, isMatch) in covering {
                if isMatch && !previous, let last = out.last {
                    out[out.count - 1].0 = last.0.lowerBound..<text.endIndex
                } else {
                    out.append((text.startIndex..<text.endIndex, false))
                }
                previous = isMatch
            }
        case .mergedWithNext:
            var previous = false
            for (text, isMatch) in covering.reversed() {
                if isMatch && !previous, let last = out.last {
                    out[out.count - 1].0 = text.startIndex..<last.0.upperBound
                } else {
                    out.append((text.startIndex..<text.endIndex, false))
                }
                previous = isMatch
            }
            out.reverse()
        }
        return out.compactMap { range, removed in removed || range.isEmpty ? nil : base.unicodeScalars[range].substring
        }
    }
}

/// A `tokenizer.json` pre-tokenizer.
indirect enum PreTokenizer: Sendable {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(Pattern, SplitBehavior, invert: Bool)
    case digits(individual: Bool)
    case metaspace(replacement: Unicode.Scalar, prepend: PrependScheme, split: Bool)
    case whitespace
    case whitespaceSplit
    case punctuation(SplitBehavior)
    case charDelimiter(Unicode.Scalar)
    case bert
    case sequence([PreTokenizer])

    enum PrependScheme: String, Sendable {
        case always, first, never
    }

    /// GPT-2's pattern, which `ByteLevel` uses when `use_regex` is true.
    static let gpt2 = try! Pattern(
        regex: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#, context: "ByteLevel")
    /// The `Whitespace` pre-tokenizer's pattern (pieces are its matches).
    static let words = try! Pattern(regex: #"\w+|[^\w\s]+"#, context: "Whitespace")

    init(json: JSONValue, at: String) throws {
        let type = json["type"]?.stringValue ?? "?"
        func behavior(_ key: String = "behavior", default d: SplitBehavior) throws -> SplitBehavior {
            guard let raw = json[key]?.stringValue else { return d }
            guard let b = SplitBehavior(rawValue: raw) else {
                throw TokenizerError(.unsupported, "\(at): split behavior \(raw) is not implemented")
            }
            return b
        }
        func scalar(_ key: String, default d: Unicode.Scalar) throws -> Unicode.Scalar {
            guard let s = json[key]?.stringValue else { return d }
            guard s.unicodeScalars.count == 1, let c = s.unicodeScalars.first else {
                throw TokenizerError(.unsupported, "\(at): \(key) \(s.debugDescription) is not one character")
            }
            return c
        }
        switch type {
        case "ByteLevel":
            self = .byteLevel(
                addPrefixSpace: json["add_prefix_space"]?.boolValue ?? true,
                useRegex: json["use_regex"]?.boolValue ?? true)
        case "Split":
            guard let pattern = json["pattern"] else {
                throw TokenizerError(.malformed, "\(at): Split has no \"pattern\"")
            }
            guard json["behavior"]?.stringValue != nil else {
                throw TokenizerError(.malformed, "\(at): Split has no \"behavior\"")
            }
            self = .split(
                try Pattern(json: pattern, context: at), try behavior(default: .removed),
                invert: json["invert"]?.boolValue ?? false)
        case "Digits":
            self = .digits(individual: json["individual_digits"]?.boolValue ?? false)
        case "Metaspace":
            let scheme: PrependScheme
            if let raw = json["prepend_scheme"]?.stringValue {
                guard let s = PrependScheme(rawValue: raw) else {
                    throw TokenizerError(.unsupported, "\(at): Metaspace prepend_scheme \(raw) is not implemented")
                }
                scheme = s
            } else {
                scheme = (json["add_prefix_space"]?.boolValue ?? true) ? .always : .never
            }
            self = .metaspace(
                replacement: try scalar("replacement", default: "\u{2581}"), prepend: scheme,
                split: json["split"]?.boolValue ?? true)
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "Punctuation": self = .punctuation(try behavior(default: .isolated))
        case "CharDelimiterSplit": self = .charDelimiter(try scalar("delimiter", default: " "))
        case "BertPreTokenizer": self = .bert
        case "Sequence":
            guard let steps = json["pretokenizers"]?.arrayValue else {
                throw TokenizerError(.malformed, "\(at): Sequence has no \"pretokenizers\" list")
            }
            self = .sequence(
                try steps.enumerated().map { try PreTokenizer(json: $1, at: "\(at).pretokenizers[\($0)]") })
        default:
            throw TokenizerError(.unsupported, "\(at): pre-tokenizer \(type) is not implemented")
        }
    }

    /// Cuts each piece further, as the library's `PreTokenizedString::split` does.
    func apply(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case let .sequence(steps):
            return steps.reduce(pieces) { $1.apply($0) }
        case let .byteLevel(addPrefixSpace, useRegex):
            return pieces.flatMap { piece -> [Piece] in
                var p = piece
                if addPrefixSpace && !p.text.unicodeScalars.starts(with: [" "]) { p.text = " " + p.text }
                let parts = useRegex ? Self.split(p, by: Self.gpt2.pieces(p.text), .isolated) : [p]
                return parts.map { Piece(text: ByteLevel.encode(Array($0.text.utf8)), startsInput: $0.startsInput) }
            }
        case let .metaspace(replacement, scheme, split):
            return pieces.flatMap { piece -> [Piece] in
                var text = Normalizer.mapScalars(piece.text) { $0 == " " ? [replacement] : [$0] }
                let starts = text.unicodeScalars.first == replacement
                if !starts && (scheme == .always || (scheme == .first && piece.startsInput)) {
                    text = String(Character(replacement)) + text
                }
                let p = Piece(text: text, startsInput: piece.startsInput)
                return split ? Self.split(p, by: Self.scalarMatches(text) { $0 == replacement }, .mergedWithNext) : [p]
            }
        case .bert:
            return PreTokenizer.punctuation(.isolated).apply(PreTokenizer.whitespaceSplit.apply(pieces))
        default:
            return pieces.flatMap { p in Self.split(p, by: covering(p.text), behaviorOfLeaf) }
        }
    }

    /// For the pre-tokenizers that are one split: the covering of `text` they cut by.
    private func covering(_ text: String) -> [(text: Substring, isMatch: Bool)] {
        switch self {
        case let .split(pattern, _, invert):
            return pattern.pieces(text).map { ($0.text, $0.isMatch != invert) }
        case .digits: return Self.scalarMatches(text) { Self.isNumeric($0) }
        case .whitespace: return Self.words.pieces(text).map { ($0.text, !$0.isMatch) }
        case .whitespaceSplit: return Self.scalarMatches(text) { $0.properties.isWhitespace }
        case .punctuation: return Self.scalarMatches(text) { Self.isPunctuation($0) }
        case let .charDelimiter(d): return Self.scalarMatches(text) { $0 == d }
        default: return [(Substring(text), false)]
        }
    }

    private var behaviorOfLeaf: SplitBehavior {
        switch self {
        case let .split(_, b, _): return b
        case let .digits(individual): return individual ? .isolated : .contiguous
        case .whitespace, .whitespaceSplit, .charDelimiter: return .removed
        case let .punctuation(b): return b
        default: return .isolated
        }
    }

    static func split(
        _ piece: Piece, by covering: [(text: Substring, isMatch: Bool)], _ behavior: SplitBehavior
    ) -> [Piece] {
        behavior.apply(covering).map {
            Piece(text: String($0), startsInput: piece.startsInput && $0.startIndex == piece.text.startIndex)
        }
    }

    /// Each scalar for which `isMatch` holds is a match of its own.
    static func scalarMatches(
        _ text: String, _ isMatch: (Unicode.Scalar) -> Bool
    ) -> [(text: Substring, isMatch: Bool)] {
        var out: [(Substring, Bool)] = []
        var runStart = text.startIndex
        var i = text.unicodeScalars.startIndex
        while i != text.unicodeScalars.endIndex {
            let next = text.unicodeScalars.index(after: i)
            if isMatch(text.unicodeScalars[i]) {
                if runStart != i { out.append((text.unicodeScalars[runStart..<i].substring, false)) }
                out.append((text.unicodeScalars[i..<next].substring, true))
                runStart = next
            }
            i = next
        }
        if runStart != text.endIndex { out.append((text.unicodeScalars[runStart...].substring, false)) }
        return out
    }

    /// Rust's `char::is_numeric`: general categories Nd, Nl and No.
    static func isNumeric(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// The library's `is_punc`: ASCII punctuation or a Unicode P* category.
    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII,
            (0x21...0x2F).contains(c.value) || (0x3A...0x40).contains(c.value)
                || (0x5B...0x60).contains(c.value) || (0x7B...0x7E).contains(c.value)
        {
            return true
        }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }
}
