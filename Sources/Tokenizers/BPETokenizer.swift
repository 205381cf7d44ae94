import Foundation
import StrictJSON

/// Why a tokenizer could not be loaded.
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The file uses a construct hasskit does not implement (named in the message).
        case unsupported
        /// The file is not a valid tokenizer of its kind.
        case malformed
    }

    public var code: Code
    public var message: String
    /// The file the tokenizer came from, when the caller knows it.
    public var file: String?

    public init(_ code: Code, _ message: String, file: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
    }

    public var description: String { (file.map { "\($0): " } ?? "") + "tokenizer: \(message)" }
}

/// BPE from a `tokenizer.json`, matching the HF `tokenizers` library, in its two flavours:
///
/// - byte-level (LLaMA-3, Qwen2, DeepSeek-V3/R1): added tokens are cut out first, the text is
///   NFC-normalised when the file says so, split by the model's pattern, mapped to byte-level
///   characters and merged by rank;
/// - SentencePiece-style (LLaMA-2, converted from `tokenizer.model`): spaces become `▁`, a `▁` is
///   put in front (the `Prepend` normaliser, or the `Metaspace` pre-tokenizer), the characters are
///   merged by rank, and characters outside the vocabulary fall back to `<0xXX>` byte tokens.
public final class BPETokenizer: @unchecked Sendable {
    /// How text becomes the symbols BPE merges.
    enum Mode {
        case byteLevel(SplitPattern)
        /// `prependEverySegment`: the legacy `Prepend` normaliser runs on every piece of text
        /// between added tokens; `Metaspace` with `prepend_scheme: first` only on the first.
        case metaspace(prependEverySegment: Bool, prepend: Bool)
    }

    // Immutable after init except the merge cache, which `cacheLock` guards.
    let vocab: [String: Int]
    let idToToken: [Int: String]
    let ranks: [String: Int]
    let mode: Mode
    let nfc: Bool
    let byteFallback: Bool
    let unknownID: Int?
    /// SentencePiece's BPE (from `tokenizer.model`): a pair merges when their concatenation is a
    /// piece, the highest-scoring first; the rank is the piece's place in score order.
    let pieceRanks: [String: Int]?
    /// SentencePiece's `remove_extra_whitespaces` normalisation.
    let collapseWhitespace: Bool
    let ignoreMerges: Bool
    /// Added tokens, longest first (for leftmost-longest matching).
    let added: [(content: [Unicode.Scalar], id: Int, special: Bool)]
    let addedByID: [Int: (String, Bool)]
    /// Ids the post-processor puts before the text when special tokens are added.
    let prefix: [Int]
    private var cache: [String: [Int]] = [:]
    private let cacheLock = NSLock()

    public init(json: JSONValue) throws {
        guard let model = json["model"], model["type"]?.stringValue == "BPE",
            let vocabObject = model["vocab"]?.objectMembers
        else {
            throw TokenizerError(.unsupported, "only BPE models are supported")
        }
        var vocab: [String: Int] = [:]
        var idToToken: [Int: String] = [:]
        for (k, v) in vocabObject {
            guard let id = v.intValue else { throw TokenizerError(.malformed, "vocab id of \(k) is not an integer") }
            vocab[k] = id
            idToToken[id] = k
        }
        var ranks: [String: Int] = [:]
        for (rank, m) in (model["merges"]?.arrayValue ?? []).enumerated() {
            let pair: String
            if let s = m.stringValue {
                pair = s
            } else if let a = m.arrayValue, a.count == 2, let x = a[0].stringValue, let y = a[1].stringValue {
                pair = x + " " + y
            } else {
                throw TokenizerError(.malformed, "merge \(rank) is neither \"a b\" nor [a, b]")
            }
            if ranks[pair] == nil { ranks[pair] = rank }
        }
        ignoreMerges = model["ignore_merges"]?.boolValue ?? false
        var nfc = false
        var metaspaceNormalizer = false
        if let n = json["normalizer"], !n.isNull {
            let steps = n["type"]?.stringValue == "Sequence" ? (n["normalizers"]?.arrayValue ?? []) : [n]
            let types = steps.compactMap { $0["type"]?.stringValue }
            if types == ["NFC"] {
                nfc = true
            } else if types == ["Prepend", "Replace"], steps[0]["prepend"]?.stringValue == "\u{2581}",
                steps[1]["pattern"]?["String"]?.stringValue == " ", steps[1]["content"]?.stringValue == "\u{2581}"
            {
                metaspaceNormalizer = true
            } else {
                throw TokenizerError(.unsupported, "normalizer \(types) is not supported")
            }
        }
        var mode: Mode?
        if metaspaceNormalizer { mode = .metaspace(prependEverySegment: true, prepend: true) }
        let pre = json["pre_tokenizer"]
        for p in pre?["pretokenizers"]?.arrayValue ?? [pre ?? .null] {
            if p["type"]?.stringValue == "Split", let r = p["pattern"]?["Regex"]?.stringValue {
                guard let s = SplitPattern(regex: r) else {
                    throw TokenizerError(.unsupported, "unsupported split pattern \(r.prefix(60))…")
                }
                mode = .byteLevel(s)
            } else if p["type"]?.stringValue == "ByteLevel" {
                guard p["add_prefix_space"]?.boolValue != true else {
                    throw TokenizerError(.unsupported, "ByteLevel add_prefix_space is not supported")
                }
            } else if p["type"]?.stringValue == "Metaspace", !metaspaceNormalizer {
                guard (p["replacement"]?.stringValue ?? "\u{2581}") == "\u{2581}", p["split"]?.boolValue != true else {
                    throw TokenizerError(
                        .unsupported, "Metaspace with a replacement other than ▁ or split: true is not supported")
                }
                let scheme =
                    p["prepend_scheme"]?.stringValue
                    ?? ((p["add_prefix_space"]?.boolValue ?? true) ? "always" : "never")
                mode = .metaspace(prependEverySegment: scheme == "always", prepend: scheme != "never")
            } else if !p.isNull {
                throw TokenizerError(.unsupported, "pre-tokenizer \(p["type"]?.stringValue ?? "?") is not supported")
            }
        }
        guard let mode else {
            throw TokenizerError(
                .unsupported, "neither a byte-level Split pre-tokenizer nor SentencePiece-style ▁ handling")
        }
        var added: [(content: [Unicode.Scalar], id: Int, special: Bool)] = []
        var addedByID: [Int: (String, Bool)] = [:]
        for t in json["added_tokens"]?.arrayValue ?? [] {
            guard let content = t["content"]?.stringValue, let id = t["id"]?.intValue else { continue }
            added.append((Array(content.unicodeScalars), id, t["special"]?.boolValue ?? false))
            addedByID[id] = (content, t["special"]?.boolValue ?? false)
            idToToken[id] = content
        }
        added.sort { $0.content.count > $1.content.count }
        var prefix: [Int] = []
        func templatePrefix(_ p: JSONValue) {
            if p["type"]?.stringValue == "TemplateProcessing" {
                for item in p["single"]?.arrayValue ?? [] {
                    if let s = item["SpecialToken"]?["id"]?.stringValue,
                        let id = p["special_tokens"]?[s]?["ids"]?.arrayValue?.first?.intValue ?? vocab[s]
                            ?? addedByID.first(where: { $0.value.0 == s })?.key
                    {
                        prefix.append(id)
                    } else if item["Sequence"] != nil {
                        break
                    }
                }
            }
            for q in p["processors"]?.arrayValue ?? [] { templatePrefix(q) }
        }
        if let post = json["post_processor"], !post.isNull { templatePrefix(post) }
        self.vocab = vocab
        self.idToToken = idToToken
        self.ranks = ranks
        self.mode = mode
        self.nfc = nfc
        byteFallback = model["byte_fallback"]?.boolValue ?? false
        unknownID = model["unk_token"]?.stringValue.flatMap { vocab[$0] }
        pieceRanks = nil
        collapseWhitespace = false
        self.added = added
        self.addedByID = addedByID
        self.prefix = prefix
    }

    /// Loads a SentencePiece BPE `tokenizer.model` (LLaMA-2's own file), for models that ship no
    /// `tokenizer.json`. Text is encoded as SentencePiece does: `<s>` in the text is text, not the
    /// BOS token (HF's fast tokenizer differs there).
    public init(sentencePieceModel data: [UInt8]) throws {
        let m = try SentencePieceModel(data: data)
        guard m.modelType == 2 else {
            let kind = m.modelType == 1 ? "unigram" : "type \(m.modelType)"
            throw TokenizerError(.unsupported, "tokenizer.model is a \(kind) model; only BPE is supported")
        }
        var vocab: [String: Int] = [:], idToToken: [Int: String] = [:], addedByID: [Int: (String, Bool)] = [:]
        for (id, p) in m.pieces.enumerated() {
            if vocab[p.text] == nil { vocab[p.text] = id }
            idToToken[id] = p.text
            if p.type == .control || p.type == .unknown { addedByID[id] = (p.text, true) }
        }
        let mergeable = m.pieces.indices.filter { m.pieces[$0].type == .normal || m.pieces[$0].type == .userDefined }
        let order = mergeable.sorted {
            m.pieces[$0].score > m.pieces[$1].score || (m.pieces[$0].score == m.pieces[$1].score && $0 < $1)
        }
        var pieceRanks: [String: Int] = [:]
        for (rank, id) in order.enumerated() where pieceRanks[m.pieces[id].text] == nil {
            pieceRanks[m.pieces[id].text] = rank
        }
        self.vocab = vocab
        self.idToToken = idToToken
        self.ranks = [:]
        self.pieceRanks = pieceRanks
        self.mode = .metaspace(prependEverySegment: true, prepend: m.addDummyPrefix)
        self.nfc = false
        self.ignoreMerges = false
        self.added = []
        self.addedByID = addedByID
        self.prefix = m.bosID >= 0 && m.bosID < m.pieces.count ? [m.bosID] : []
        self.byteFallback = m.byteFallback
        self.unknownID = m.unknownID >= 0 && m.unknownID < m.pieces.count ? m.unknownID : nil
        self.collapseWhitespace = m.removeExtraWhitespaces
    }

    /// Loads a `tokenizer.json` file.
    public convenience init(data: [UInt8]) throws {
        try self.init(json: try JSONParser(maxDepth: 64).parse(data))
    }

    /// Token ids of `text`; `addSpecialTokens` adds what the post-processor adds (e.g. BOS).
    public func encode(_ text: String, addSpecialTokens: Bool = false) -> [Int] {
        var out = addSpecialTokens ? prefix : []
        let scalars = Array(text.unicodeScalars)
        var start = 0
        var i = 0
        while i < scalars.count {
            if let hit = added.first(where: { a in
                i + a.content.count <= scalars.count && Array(scalars[i..<(i + a.content.count)]) == a.content
            }) {
                out += encodePlain(Array(scalars[start..<i]), first: start == 0)
                out.append(hit.id)
                i += hit.content.count
                start = i
            } else {
                i += 1
            }
        }
        out += encodePlain(Array(scalars[start..<scalars.count]), first: start == 0)
        return out
    }

    /// Text between added tokens; `first` when it starts the input.
    func encodePlain(_ scalars: [Unicode.Scalar], first: Bool) -> [Int] {
        guard !scalars.isEmpty else { return [] }
        if case let .metaspace(every, prepend) = mode {
            let space: Unicode.Scalar = "\u{2581}"
            var text = scalars
            if collapseWhitespace {
                // Trim, and fold runs of spaces into one.
                var folded: [Unicode.Scalar] = []
                for c in text where !(c == " " && (folded.isEmpty || folded.last == " ")) { folded.append(c) }
                while folded.last == " " { folded.removeLast() }
                text = folded
                if text.isEmpty { return [] }
            }
            let body = text.map { $0 == " " ? space : $0 }
            return bpe(prepend && (every || first) ? [space] + body : body)
        }
        guard case let .byteLevel(pattern) = mode else { return [] }
        var text = scalars
        if nfc {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars)
            text = Array(String(s).precomposedStringWithCanonicalMapping.unicodeScalars)
        }
        var out: [Int] = []
        for piece in pattern.split(text) {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: piece)
            out += bpe(Array(ByteLevel.encode(Array(String(s).utf8)).unicodeScalars))
        }
        return out
    }

    /// Merges the characters (Unicode scalars, as the HF library splits words) of one
    /// pre-tokenized piece by rank; symbols left outside the vocabulary become byte tokens or
    /// the unknown token.
    func bpe(_ scalars: [Unicode.Scalar]) -> [Int] {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let word = String(view)
        cacheLock.lock()
        if let hit = cache[word] {
            cacheLock.unlock()
            return hit
        }
        cacheLock.unlock()
        var ids: [Int]
        if ignoreMerges, let id = vocab[word] {
            ids = [id]
        } else {
            var symbols = scalars.map { String($0) }
            while symbols.count > 1 {
                var best = -1
                var bestRank = Int.max
                for k in 0..<(symbols.count - 1) {
                    let rank =
                        pieceRanks.map { $0[symbols[k] + symbols[k + 1]] } ?? ranks[symbols[k] + " " + symbols[k + 1]]
                    if let r = rank, r < bestRank {
                        bestRank = r
                        best = k
                    }
                }
                if best < 0 { break }
                symbols[best] += symbols[best + 1]
                symbols.remove(at: best + 1)
            }
            ids = []
            for symbol in symbols {
                if let id = vocab[symbol] {
                    ids.append(id)
                } else if byteFallback,
                    case let bytes = symbol.utf8.compactMap({ vocab[String(format: "<0x%02X>", $0)] }),
                    bytes.count == symbol.utf8.count
                {
                    ids += bytes
                } else if let unk = unknownID, ids.last != unk {
                    ids.append(unk)  // fuse_unk: a run of unknown symbols is one <unk>
                }
            }
        }
        cacheLock.lock()
        if cache.count < 100_000 { cache[word] = ids }
        cacheLock.unlock()
        return ids
    }

    /// The text of `ids`; bytes that are not valid UTF-8 become U+FFFD, as the HF decoder does.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }

    /// The raw bytes of `ids`, for streaming output that may end inside a UTF-8 sequence.
    /// `continuation`: the ids continue earlier text (streaming token by token), so a leading
    /// space is kept rather than taken for the `▁` SentencePiece puts in front of a text.
    public func decodeBytes(_ ids: [Int], skipSpecialTokens: Bool = false, continuation: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids {
            if let (content, special) = addedByID[id] {
                if !(skipSpecialTokens && special) { out += Array(content.utf8) }
            } else if let t = idToToken[id] {
                switch mode {
                case .byteLevel: out += ByteLevel.decode(t)
                case .metaspace: out += Self.metaspaceBytes(t)
                }
            }
        }
        // SentencePiece's decoder drops the `▁` it put in front of the text.
        if case let .metaspace(_, prepend) = mode, prepend, !continuation, out.first == 0x20 { out.removeFirst() }
        return out
    }

    /// A SentencePiece-style piece as bytes: `<0xXX>` is that byte, `▁` a space.
    static func metaspaceBytes(_ piece: String) -> [UInt8] {
        let u = Array(piece.utf8)
        if u.count == 6, piece.hasPrefix("<0x"), piece.hasSuffix(">"),
            let b = UInt8(piece.dropFirst(3).prefix(2), radix: 16)
        {
            return [b]
        }
        return Array(piece.replacingOccurrences(of: "\u{2581}", with: " ").utf8)
    }
}
