import Foundation
import Platform
import StrictJSON
import Testing
import TestSupport
import Tokenizers

/// The real tokenizers of the published bases' families against the HF `tokenizers` library
/// (and LLaMA-2's `tokenizer.model` against `sentencepiece`), on the 70 strings of the shared
/// references plus chat-format and special-token strings (`Scripts/gen_tokenizer_refs.py`).
///
/// The tokenizer files (3–9 MB each) are not committed: they are read from the team's shared
/// fixtures (`../shared/fixtures/real-tokenizers`, present in CI); without them these tests are
/// skipped. Qwen2's and DeepSeek-V3's references sit beside their files; the others are committed
/// under `Tests/Fixtures/refs/real_tokenizer_*.json`.
@Suite(.enabled(if: Fixtures.shared != nil, "needs ../shared/fixtures/real-tokenizers"))
struct RealTokenizerTests {
    static var folder: String { (Fixtures.shared ?? "") + "/real-tokenizers" }

    @Test(
        arguments: [
            ("qwen2", "qwen2", "refs_qwen2.json"), ("deepseek_v3", "deepseek_v3", "refs_deepseek_v3.json"),
            ("llama3", "llama3", nil), ("smollm2", "smollm2", nil), ("smollm2", "smollm2_upstream", nil),
        ] as [(String, String, String?)])
    func matchesHFTokenizers(_ folder: String, _ label: String, _ sharedRefs: String?) throws {
        let refs =
            try sharedRefs.map { try Self.json(Self.folder + "/" + $0) }
            ?? Fixtures.json("refs/real_tokenizer_\(label).json")
        var json = try Self.json(Self.folder + "/\(folder)/tokenizer.json")
        if let pre = refs["pre_tokenizer"], !pre.isNull { json = json.replacing("pre_tokenizer", with: pre) }
        let tok = try Tokenizer(json: json)
        let cases = try #require(refs["cases"]?.arrayValue)
        #expect(cases.count >= 70)
        for c in cases {
            let text = try #require(c["text"]?.stringValue)
            let name = "\(label): \(c["name"]?.stringValue ?? "")"
            let ids = c.idList("ids")
            #expect(tok.encode(text) == ids, "\(name)")
            #expect(tok.encode(text, addSpecialTokens: true) == c.idList("ids_with_special"), "\(name) with specials")
            // Bytes, not Strings: Swift's == would take NFD and NFC spellings as equal.
            #expect(Array(tok.decode(ids).utf8) == Array((c["decoded"]?.stringValue ?? "").utf8), "\(name) decode")
            #expect(
                Array(tok.decode(ids, skipSpecialTokens: true).utf8)
                    == Array((c["decoded_skip_special"]?.stringValue ?? "").utf8), "\(name) decode skipping specials")
            var stream = DecodeStream(tokenizer: tok)
            let streamed = ids.compactMap { stream.step($0) }.joined() + stream.finish()
            #expect(Array(streamed.utf8) == Array(tok.decode(ids).utf8), "\(name) streamed")
        }
    }

    /// LLaMA-2's own `tokenizer.model` against the sentencepiece library (special tokens' spellings
    /// matched first, as transformers does).
    @Test func llama2SentencePieceMatchesTheLibrary() throws {
        let tok = try Tokenizer(sentencePieceModel: try FileSystem.readFile(Self.folder + "/llama2/tokenizer.model"))
        let refs = try Fixtures.json("refs/real_tokenizer_llama2_spm.json")
        for c in refs["cases"]?.arrayValue ?? [] {
            let text = try #require(c["text"]?.stringValue)
            let ids = c.idList("ids")
            #expect(tok.encode(text) == ids, "llama2: \(c["name"]?.stringValue ?? "")")
            if let decoded = c["decoded"]?.stringValue {
                #expect(
                    Array(tok.decode(ids).utf8) == Array(decoded.utf8), "llama2 decode: \(c["name"]?.stringValue ?? "")"
                )
            }
        }
    }

    static func json(_ path: String) throws -> JSONValue {
        try JSONParser(maxDepth: 64).parse(try FileSystem.readFile(path))
    }
}

/// One small tokenizer per combination of the format's components (normalizers, every split
/// behaviour, BPE options, added-token options, post-processors, decoders), trained and saved by
/// the HF library (`Tests/Fixtures/tokenizers/components/`), against that library's ids.
@Suite struct ComponentTokenizerTests {
    static let refs = try! Fixtures.json("refs/components.json")
    static let names = (refs["tokenizers"]?.objectMembers ?? []).map(\.0)

    @Test(arguments: names)
    func matchesHFTokenizers(_ name: String) throws {
        let tok = try Tokenizer(data: try FileSystem.readFile(Fixtures.path("tokenizers/components/\(name).json")))
        let texts = try #require(Self.refs["texts"]?.arrayValue)
        let cases = try #require(Self.refs["tokenizers"]?[name]?.arrayValue)
        #expect(texts.count == cases.count && cases.count >= 80)
        for (t, c) in zip(texts, cases) {
            let text = try #require(t["text"]?.stringValue)
            let label = "\(name): \(t["name"]?.stringValue ?? "")"
            let ids = c.idList("ids")
            #expect(tok.encode(text) == ids, "\(label)")
            #expect(tok.encode(text, addSpecialTokens: true) == c.idList("ids_with_special"), "\(label) with specials")
            #expect(Array(tok.decode(ids).utf8) == Array((c["decoded"]?.stringValue ?? "").utf8), "\(label) decode")
            #expect(
                Array(tok.decode(ids, skipSpecialTokens: true).utf8)
                    == Array((c["decoded_skip_special"]?.stringValue ?? "").utf8), "\(label) decode skipping specials")
        }
    }

    /// A construct hasskit does not implement is refused by name and place, never taken for
    /// something else.
    @Test func unimplementedComponentsAreNamed() throws {
        let base = try JSONParser(maxDepth: 64).parse(
            try FileSystem.readFile(Fixtures.path("tokenizers/components/split_removed.json")))
        let cases: [(String, JSONValue, String)] = [
            ("normalizer", .object([("type", .string("Precompiled"))]), "normalizer: normalizer Precompiled"),
            (
                "pre_tokenizer",
                .object([
                    ("type", .string("Sequence")),
                    ("pretokenizers", .array([.object([("type", .string("UnicodeScripts"))])])),
                ]),
                "pre_tokenizer.pretokenizers[0]: pre-tokenizer UnicodeScripts"
            ),
            ("decoder", .object([("type", .string("CTC"))]), "decoder: decoder CTC"),
            ("post_processor", .object([("type", .string("Unknown"))]), "post_processor: post-processor Unknown"),
            (
                "pre_tokenizer",
                .object([
                    ("type", .string("Split")), ("pattern", .object([("Regex", .string("(unclosed"))])),
                    ("behavior", .string("Isolated")),
                ]),
                "does not compile"
            ),
        ]
        for (key, value, message) in cases {
            let e = try #require(throws: TokenizerError.self) { try Tokenizer(json: base.replacing(key, with: value)) }
            #expect(e.code == .unsupported)
            #expect(e.description.contains(message), "\(e)")
        }
        var model = try #require(base["model"])
        model = model.replacing("type", with: .string("Unigram"))
        let e = try #require(throws: TokenizerError.self) { try Tokenizer(json: base.replacing("model", with: model)) }
        #expect(e.description.contains("Unigram"))
    }
}

extension JSONValue {
    /// A copy of this object with member `key` set to `value`.
    func replacing(_ key: String, with value: JSONValue) -> JSONValue {
        guard var members = objectMembers else { return self }
        if let i = members.firstIndex(where: { $0.0 == key }) {
            members[i].1 = value
        } else {
            members.append((key, value))
        }
        return .object(members)
    }
}

extension JSONValue {
    /// Member `key` as integers (an empty list allowed: the empty text has no ids).
    func idList(_ key: String) -> [Int] { (self[key]?.arrayValue ?? []).compactMap(\.intValue) }
}

/// A `tokenizer.json` from a model repository is untrusted: seeded random damage to a trained
/// file (values replaced by other types, huge or negative numbers, members dropped) either loads
/// or is a `TokenizerError`; what loads encodes and decodes (out-of-range ids included) without
/// crashing.
@Suite struct HostileTokenizerTests {
    static let replacements: [JSONValue] = [
        .null, .bool(true), .number("-1"), .number("4294967296"), .number("1e300"), .string(""), .string("\u{2581}"),
        .string("(?<"), .array([]), .object([]), .array([.string("a"), .string("b")]),
        .object([("type", .string("Sequence"))]), .object([("String", .string(" "))]),
    ]

    /// Every path to a value in `v`, as a list of member names or array indices.
    static func paths(_ v: JSONValue, _ prefix: [String] = [], depth: Int = 0) -> [[String]] {
        guard depth < 6 else { return [prefix] }
        switch v {
        case let .object(members):
            // The vocabulary and merges are large; a few of their entries are enough.
            return [prefix] + members.prefix(12).flatMap { paths($0.1, prefix + [$0.0], depth: depth + 1) }
        case let .array(items):
            return [prefix] + items.prefix(6).enumerated().flatMap { paths($1, prefix + ["\($0)"], depth: depth + 1) }
        default: return [prefix]
        }
    }

    static func replacing(_ v: JSONValue, at path: ArraySlice<String>, with new: JSONValue?) -> JSONValue? {
        guard let head = path.first else { return new }
        switch v {
        case var .object(members):
            guard let i = members.firstIndex(where: { $0.0 == head }) else { return v }
            if path.count == 1, new == nil {
                members.remove(at: i)
            } else {
                members[i].1 = replacing(members[i].1, at: path.dropFirst(), with: new) ?? .null
            }
            return .object(members)
        case var .array(items):
            guard let i = Int(head), i < items.count else { return v }
            if path.count == 1, new == nil {
                items.remove(at: i)
            } else {
                items[i] = replacing(items[i], at: path.dropFirst(), with: new) ?? .null
            }
            return .array(items)
        default: return v
        }
    }

    @Test(arguments: ["metaspace_always_bytefallback", "bytelevel_prefix_nfkc_lower", "subword_prefix_suffix"])
    func damagedFilesNeverCrash(_ name: String) throws {
        let original = try JSONParser(maxDepth: 64).parse(
            try FileSystem.readFile(Fixtures.path("tokenizers/components/\(name).json")))
        let all = Self.paths(original)
        var rng = SeededGenerator(seed: 5)
        var loaded = 0
        var refused = 0
        for _ in 0..<250 {
            var doc = original
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let path = all.randomElement(using: &rng)!
                let new = Bool.random(using: &rng) ? nil : Self.replacements.randomElement(using: &rng)!
                doc = Self.replacing(doc, at: path[...], with: new) ?? .null
            }
            do {
                let tok = try Tokenizer(json: doc)
                loaded += 1
                for text in ["Hello world 123", "  <|im_start|>x\n", "naïve 日本 😀", ""] {
                    let ids = tok.encode(text, addSpecialTokens: true)
                    _ = tok.decode(ids + [-1, 0, Int(Int32.max), tok.vocabularySize])
                    var stream = DecodeStream(tokenizer: tok)
                    for id in ids { _ = stream.step(id) }
                    _ = stream.finish()
                }
            } catch is TokenizerError {
                refused += 1
            }
        }
        #expect(loaded > 0 && refused > 0, "loaded \(loaded), refused \(refused)")
    }
}
