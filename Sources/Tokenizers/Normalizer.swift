import Foundation
import StrictJSON

/// A `tokenizer.json` normalizer, as the HF `tokenizers` library applies it to the text between
/// added tokens (character = Unicode scalar, as in Rust's `char`).
indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case stripAccents
    case strip(left: Bool, right: Bool)
    case prepend(String)
    case replace(Pattern, String)
    case byteLevel
    case bert(cleanText: Bool, chineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    /// SentencePiece's `remove_extra_whitespaces`: no leading or trailing spaces, runs of spaces
    /// folded into one (from `tokenizer.model`; no `tokenizer.json` names it).
    case collapseSpaces
    case sequence([Normalizer])

    /// - Parameter at: where the object sits in the file, for messages (`normalizer.normalizers[1]`).
    init(json: JSONValue, at: String) throws {
        let type = json["type"]?.stringValue ?? "?"
        switch type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "StripAccents": self = .stripAccents
        case "Strip":
            self = .strip(left: json["strip_left"]?.boolValue ?? true, right: json["strip_right"]?.boolValue ?? true)
        case "Prepend":
            guard let p = json["prepend"]?.stringValue else {
                throw TokenizerError(.malformed, "\(at): Prepend has no \"prepend\" string")
            }
            self = .prepend(p)
        case "Replace":
            guard let pattern = json["pattern"], let content = json["content"]?.stringValue else {
                throw TokenizerError(.malformed, "\(at): Replace needs \"pattern\" and \"content\"")
            }
            self = .replace(try Pattern(json: pattern, context: at), content)
        case "ByteLevel": self = .byteLevel
        case "BertNormalizer":
            let lowercase = json["lowercase"]?.boolValue ?? true
            self = .bert(
                cleanText: json["clean_text"]?.boolValue ?? true,
                chineseChars: json["handle_chinese_chars"]?.boolValue ?? true,
                stripAccents: json["strip_accents"]?.boolValue ?? lowercase, lowercase: lowercase)
        case "Sequence":
            guard let steps = json["normalizers"]?.arrayValue else {
                throw TokenizerError(.malformed, "\(at): Sequence has no \"normalizers\" list")
            }
            self = .sequence(
                try steps.enumerated().map { try Normalizer(json: $1, at: "\(at).normalizers[\($0)]") })
        default:
            throw TokenizerError(.unsupported, "\(at): normalizer \(type) is not implemented")
        }
    }

    func normalize(_ text: String) -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return Self.lowercased(text)
        case .stripAccents: return Self.mapScalars(text) { Self.isMark($0) ? [] : [$0] }
        case let .strip(left, right):
            var s = Substring(text).unicodeScalars
            if left { while let f = s.first, f.properties.isWhitespace { s.removeFirst() } }
            if right { while let l = s.last, l.properties.isWhitespace { s.removeLast() } }
            return String(String.UnicodeScalarView(s))
        case let .prepend(p): return text.isEmpty ? text : p + text
        case let .replace(pattern, content): return pattern.replacing(in: text, with: content)
        case .byteLevel: return ByteLevel.encode(Array(text.utf8))
        case let .bert(cleanText, chineseChars, stripAccents, lowercase):
            var s = text
            if cleanText {
                s = Self.mapScalars(s) { c in
                    if c.value == 0 || c.value == 0xFFFD || Self.isBertControl(c) { return [] }
                    return Self.isBertWhitespace(c) ? [" "] : [c]
                }
            }
            if chineseChars { s = Self.mapScalars(s) { Self.isCJK($0) ? [" ", $0, " "] : [$0] } }
            if stripAccents { s = Normalizer.stripAccents.normalize(Normalizer.nfd.normalize(s)) }
            if lowercase { s = Self.lowercased(s) }
            return s
        case .collapseSpaces:
            var out = String.UnicodeScalarView()
            for c in text.unicodeScalars where !(c == " " && (out.isEmpty || out.last == " ")) { out.append(c) }
            while out.last == " " { out.removeLast() }
            return String(out)
        case let .sequence(steps): return steps.reduce(text) { $1.normalize($0) }
        }
    }

    /// Rust's `char::to_lowercase`, one character at a time (no context-dependent final sigma).
    static func lowercased(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars { out += c.properties.lowercaseMapping }
        return out
    }

    static func mapScalars(_ text: String, _ f: (Unicode.Scalar) -> [Unicode.Scalar]) -> String {
        var out = String.UnicodeScalarView()
        for c in text.unicodeScalars { out.append(contentsOf: f(c)) }
        return String(out)
    }

    /// The library's `is_combining_mark`: general categories Mn, Mc and Me.
    static func isMark(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    static func isBertWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r" || c.properties.generalCategory == .spaceSeparator
    }

    static func isBertControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate, .unassigned: return true
        default: return false
        }
    }

    static func isCJK(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }
}
