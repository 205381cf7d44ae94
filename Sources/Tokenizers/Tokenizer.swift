import Foundation
import StrictJSON

/// A tokenizer as the HF `tokenizers` library defines one, built from what the file says:
///
///     added tokens (raw) → normalizer → added tokens (normalized) → pre-tokenizer → model
///     → post-processor (with special tokens)          and, back:  ids → tokens → decoder
///
/// Every component the file names is implemented or refused by name (`TokenizerError.unsupported`,
/// naming where in the file it sits); nothing is recognised by matching known files. LLaMA-2's
/// SentencePiece `tokenizer.model` is read into the same pipeline.
public final class Tokenizer: Sendable {
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: BPEModel
    /// Added tokens matched in the raw input, and those matched after normalization.
    let rawAdded: AddedVocabulary
    let normalizedAdded: AddedVocabulary
    /// Added tokens by id, for decoding; `special` ones are dropped by `skipSpecialTokens`.
    let addedByID: [Int: (content: String, special: Bool)]
    /// What the post-processor puts around the ids when special tokens are added.
    let specialPrefix: [Int]
    let specialSuffix: [Int]
    /// nil: tokens are joined with spaces, as the library does without a decoder.
    let decoder: Decoder?
    /// One more than the largest id the tokenizer can produce.
    public let vocabularySize: Int

    init(
        normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: BPEModel, added: [AddedToken],
        specialPrefix: [Int], specialSuffix: [Int], decoder: Decoder?
    ) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        rawAdded = AddedVocabulary(added.filter { !$0.normalized })
        normalizedAdded = AddedVocabulary(added.filter { $0.normalized })
        var byID: [Int: (String, Bool)] = [:]
        for t in added { byID[t.id] = (t.content, t.special) }
        addedByID = byID
        self.specialPrefix = specialPrefix
        self.specialSuffix = specialSuffix
        self.decoder = decoder
        vocabularySize = max(model.tokens.keys.max() ?? -1, byID.keys.max() ?? -1) + 1
    }

    /// Loads a `tokenizer.json`.
    public convenience init(json: JSONValue) throws {
        guard let modelJSON = json["model"] else { throw TokenizerError(.malformed, "no \"model\" object") }
        let type = modelJSON["type"]?.stringValue ?? (modelJSON["merges"] != nil ? "BPE" : "?")
        guard type == "BPE" else {
            throw TokenizerError(.unsupported, "model: \(type) models are not implemented (only BPE)")
        }
        let model = try BPEModel(json: modelJSON)
        func component<T>(_ key: String, _ make: (JSONValue, String) throws -> T) throws -> T? {
            guard let v = json[key], !v.isNull else { return nil }
            return try make(v, key)
        }
        let normalizer = try component("normalizer", Normalizer.init)
        let preTokenizer = try component("pre_tokenizer", PreTokenizer.init)
        let decoder = try component("decoder", Decoder.init)
        var added: [AddedToken] = []
        for (i, t) in (json["added_tokens"]?.arrayValue ?? []).enumerated() {
            guard let content = t["content"]?.stringValue, !content.isEmpty, let id = t["id"]?.intValue, id >= 0,
                id < Int(Int32.max)
            else {
                throw TokenizerError(
                    .malformed, "added_tokens[\(i)] needs a non-empty \"content\" and an \"id\" in 0..<2^31")
            }
            let special = t["special"]?.boolValue ?? false
            added.append(
                AddedToken(
                    content: content, id: id, special: special, normalized: t["normalized"]?.boolValue ?? !special,
                    lstrip: t["lstrip"]?.boolValue ?? false, rstrip: t["rstrip"]?.boolValue ?? false,
                    singleWord: t["single_word"]?.boolValue ?? false))
        }
        let lookup: (String) -> Int? = { token in
            added.first(where: { $0.content == token })?.id ?? model.id(of: token)
        }
        var prefix: [Int] = []
        var suffix: [Int] = []
        if let post = json["post_processor"], !post.isNull {
            try PostProcessor(json: post, at: "post_processor", lookup: lookup).wrap(prefix: &prefix, suffix: &suffix)
        }
        self.init(
            normalizer: normalizer, preTokenizer: preTokenizer, model: model, added: added, specialPrefix: prefix,
            specialSuffix: suffix, decoder: decoder)
    }

    /// Loads a `tokenizer.json` file's bytes.
    public convenience init(data: [UInt8]) throws {
        let json: JSONValue
        do {
            json = try JSONParser(maxDepth: 64).parse(data)
        } catch {
            throw TokenizerError(.malformed, "not valid JSON: \(error)")
        }
        try self.init(json: json)
    }

    /// Token ids of `text`; `addSpecialTokens` adds what the post-processor adds (e.g. BOS).
    /// Added tokens written in the text are matched whatever `addSpecialTokens` says, as in the
    /// library.
    public func encode(_ text: String, addSpecialTokens: Bool = false) -> [Int] {
        var ids = addSpecialTokens ? specialPrefix : []
        for raw in rawAdded.split(text, startsInput: true) {
            guard case let .text(segment, startsInput) = raw else {
                if case let .token(id) = raw { ids.append(id) }
                continue
            }
            let normalized = normalizer?.normalize(segment) ?? segment
            for part in normalizedAdded.split(normalized, startsInput: startsInput) {
                switch part {
                case let .token(id): ids.append(id)
                case let .text(t, starts):
                    let piece = Piece(text: t, startsInput: starts)
                    for p in preTokenizer?.apply([piece]) ?? [piece] { ids += model.tokenize(p.text) }
                }
            }
        }
        if addSpecialTokens { ids += specialSuffix }
        return ids
    }

    /// The id of a token string (an added token, or the model's vocabulary).
    public func id(of token: String) -> Int? {
        rawAdded.tokens.first { $0.content == token }?.id ?? normalizedAdded.tokens.first { $0.content == token }?.id
            ?? model.id(of: token)
    }

    /// The token string of `id` (an added token's content, or the model's token).
    public func token(_ id: Int) -> String? { addedByID[id]?.content ?? model.tokens[id] }

    /// The text of `ids`, as the library's `decode`: bytes that are not valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        let tokens = ids.compactMap { id -> String? in
            if let a = addedByID[id] { return skipSpecialTokens && a.special ? nil : a.content }
            return model.tokens[id]
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }
}

/// The post-processor's effect on a single sequence: ids before and after it.
struct PostProcessor {
    var prefix: [Int] = []
    var suffix: [Int] = []

    init(json: JSONValue, at: String, lookup: (String) -> Int?) throws {
        let type = json["type"]?.stringValue ?? "?"
        func id(of token: String) throws -> Int {
            guard let id = lookup(token) else {
                throw TokenizerError(
                    .malformed, "\(at): special token \(token.debugDescription) is not in the vocabulary")
            }
            return id
        }
        switch type {
        case "ByteLevel": break
        case "TemplateProcessing":
            guard let single = json["single"]?.arrayValue else {
                throw TokenizerError(.malformed, "\(at): TemplateProcessing has no \"single\" template")
            }
            var seenSequence = false
            for (i, item) in single.enumerated() {
                if let name = item["SpecialToken"]?["id"]?.stringValue {
                    let ids =
                        try json["special_tokens"]?[name]?["ids"]?.arrayValue?.map { v -> Int in
                            guard let n = v.intValue else {
                                throw TokenizerError(.malformed, "\(at).special_tokens.\(name): ids are not integers")
                            }
                            return n
                        } ?? [try id(of: name)]
                    if seenSequence { suffix += ids } else { prefix += ids }
                } else if item["Sequence"] != nil {
                    guard !seenSequence else {
                        throw TokenizerError(.unsupported, "\(at).single[\(i)]: a template with two sequences")
                    }
                    seenSequence = true
                } else {
                    throw TokenizerError(.malformed, "\(at).single[\(i)] is neither SpecialToken nor Sequence")
                }
            }
        case "BertProcessing", "RobertaProcessing":
            guard let cls = json["cls"]?.arrayValue, cls.count == 2, let clsID = cls[1].intValue,
                let sep = json["sep"]?.arrayValue, sep.count == 2, let sepID = sep[1].intValue
            else {
                throw TokenizerError(.malformed, "\(at): \(type) needs \"cls\" and \"sep\" as [token, id]")
            }
            prefix = [clsID]
            suffix = [sepID]
        case "Sequence":
            guard let steps = json["processors"]?.arrayValue else {
                throw TokenizerError(.malformed, "\(at): Sequence has no \"processors\" list")
            }
            for (i, step) in steps.enumerated() {
                try PostProcessor(json: step, at: "\(at).processors[\(i)]", lookup: lookup)
                    .wrap(prefix: &prefix, suffix: &suffix)
            }
        default:
            throw TokenizerError(.unsupported, "\(at): post-processor \(type) is not implemented")
        }
    }

    /// Applies this processor around what earlier processors produced.
    func wrap(prefix p: inout [Int], suffix s: inout [Int]) {
        p = prefix + p
        s += suffix
    }
}

/// Turns generated ids into text as they come, as the library's `DecodeStream` does: a step
/// returns new text only once it is complete (never ending in U+FFFD from a cut UTF-8
/// sequence), and decoding keeps a little context so that a decoder's leading-space rule applies
/// to the text's start only.
public struct DecodeStream {
    let tokenizer: Tokenizer
    let skipSpecialTokens: Bool
    var ids: [Int] = []
    var prefix = ""
    var prefixIndex = 0

    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// The text `id` completes, or nil while it is incomplete.
    public mutating func step(_ id: Int) -> String? {
        if prefix.isEmpty && !ids.isEmpty {
            let p = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
            if p.unicodeScalars.last != "\u{FFFD}" {
                prefix = p
                prefixIndex = ids.count
            }
        }
        ids.append(id)
        let text = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        guard text.utf8.count > prefix.utf8.count, text.unicodeScalars.last != "\u{FFFD}" else { return nil }
        let new: String
        if text.utf8.starts(with: prefix.utf8) {
            new = String(decoding: text.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
        } else {
            // The decoder rewrote earlier text; print what follows the common start.
            let common = zip(text.utf8, prefix.utf8).prefix { $0 == $1 }.count
            new = String(decoding: text.utf8.dropFirst(common), as: UTF8.self)
        }
        let newPrefixIndex = ids.count - prefixIndex
        ids.removeFirst(prefixIndex)
        prefix = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        prefixIndex = newPrefixIndex
        return new
    }

    /// What is still held back at the end of the output (an incomplete sequence, as U+FFFD).
    public mutating func finish() -> String {
        let text = tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        defer {
            ids = []
            prefix = ""
            prefixIndex = 0
        }
        guard text.utf8.count > prefix.utf8.count, text.utf8.starts(with: prefix.utf8) else { return "" }
        return String(decoding: text.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    }
}
