import StrictJSON

/// A `tokenizer.json` decoder: a chain over the tokens' strings (`decode_chain`), joined at the
/// end. Strings in, strings out, exactly as the library does it, so that what `run` prints is
/// what transformers prints.
indirect enum Decoder: Sendable {
    case byteLevel
    case metaspace(replacement: Unicode.Scalar, prependScheme: PreTokenizer.PrependScheme)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(Pattern, String)
    case bpeSuffix(Pattern)
    case sequence([Decoder])

    init(json: JSONValue, at: String) throws {
        let type = json["type"]?.stringValue ?? "?"
        switch type {
        case "ByteLevel": self = .byteLevel
        case "Metaspace":
            let scheme: PreTokenizer.PrependScheme
            if let raw = json["prepend_scheme"]?.stringValue {
                guard let s = PreTokenizer.PrependScheme(rawValue: raw) else {
                    throw TokenizerError(.unsupported, "\(at): Metaspace prepend_scheme \(raw) is not implemented")
                }
                scheme = s
            } else {
                scheme = (json["add_prefix_space"]?.boolValue ?? true) ? .always : .never
            }
            let r = json["replacement"]?.stringValue ?? "\u{2581}"
            guard r.unicodeScalars.count == 1, let c = r.unicodeScalars.first else {
                throw TokenizerError(
                    .unsupported, "\(at): Metaspace replacement \(r.debugDescription) is not one character")
            }
            self = .metaspace(replacement: c, prependScheme: scheme)
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let content = json["content"]?.stringValue ?? " "
            guard content.unicodeScalars.count == 1, let c = content.unicodeScalars.first,
                let start = json["start"]?.intValue, let stop = json["stop"]?.intValue, start >= 0, stop >= 0
            else {
                throw TokenizerError(.malformed, "\(at): Strip needs one character and counts start, stop ≥ 0")
            }
            self = .strip(content: c, start: start, stop: stop)
        case "Replace":
            guard let pattern = json["pattern"], let content = json["content"]?.stringValue else {
                throw TokenizerError(.malformed, "\(at): Replace needs \"pattern\" and \"content\"")
            }
            self = .replace(try Pattern(json: pattern, context: at), content)
        case "BPEDecoder":
            self = .bpeSuffix(try Pattern(literal: json["suffix"]?.stringValue ?? "</w>", context: at))
        case "Sequence":
            guard let steps = json["decoders"]?.arrayValue else {
                throw TokenizerError(.malformed, "\(at): Sequence has no \"decoders\" list")
            }
            self = .sequence(try steps.enumerated().map { try Decoder(json: $1, at: "\(at).decoders[\($0)]") })
        default:
            throw TokenizerError(.unsupported, "\(at): decoder \(type) is not implemented")
        }
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens { bytes += ByteLevel.decode(t) }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .metaspace(replacement, scheme):
            return tokens.enumerated().map { i, token in
                Normalizer.mapScalars(token) { c in
                    guard c == replacement else { return [c] }
                    return i == 0 && scheme != .never ? [] : [" "]
                }
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    out += Array(repeating: "\u{FFFD}", count: pending.count)
                }
                pending = []
            }
            for t in tokens {
                if let b = ByteLevel.byteToken(t) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                var s = Array(token.unicodeScalars)
                var cut = 0
                while cut < start, cut < s.count, s[cut] == content { cut += 1 }
                s.removeFirst(cut)
                cut = 0
                while cut < stop, cut < s.count, s[s.count - 1 - cut] == content { cut += 1 }
                s.removeLast(cut)
                return AddedVocabulary.string(s[...])
            }
        case let .replace(pattern, content):
            return tokens.map { pattern.replacing(in: $0, with: content) }
        case let .bpeSuffix(suffix):
            return tokens.enumerated().map { i, t in suffix.replacing(in: t, with: i == tokens.count - 1 ? "" : " ") }
        case let .sequence(steps):
            return steps.reduce(tokens) { $1.decodeChain($0) }
        }
    }
}
