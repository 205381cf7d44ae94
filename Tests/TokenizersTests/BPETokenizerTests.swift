import Platform
import StrictJSON
import Testing
import TestSupport
@testable import Tokenizers

/// Byte-level and SentencePiece-style (LLaMA-2) BPE against the HF tokenizers library
/// (`refs/tokenizer_<family>.json`).
@Suite struct BPETokenizerTests {
    @Test(arguments: [("llama3", "llama3"), ("qwen2", "qwen2"), ("deepseek_v3", "llama3"), ("llama2", "llama2")])
    func idsMatchTheReference(_ folder: String, _ refs: String) throws {
        let tok = try Tokenizer(data: try FileSystem.readFile(Fixtures.path("tokenizers/\(folder)/tokenizer.json")))
        let cases = try #require(try Fixtures.json("refs/tokenizer_\(refs).json")["cases"]?.arrayValue)
        #expect(cases.count > 30)
        for c in cases {
            let text = try #require(c["text"]?.stringValue)
            let ids = (c["ids"]?.arrayValue ?? []).compactMap(\.intValue)
            #expect(tok.encode(text) == ids, "\(folder): \(text.debugDescription)")
            #expect(
                tok.encode(text, addSpecialTokens: true)
                    == (c["ids_with_special"]?.arrayValue ?? []).compactMap(\.intValue),
                "\(folder) with specials: \(text.debugDescription)")
            #expect(tok.decode(ids) == c["decoded"]?.stringValue, "\(folder) decode: \(text.debugDescription)")
            // Streamed one token at a time, the pieces add up to the same text.
            var stream = DecodeStream(tokenizer: tok)
            let streamed = ids.compactMap { stream.step($0) }.joined() + stream.finish()
            #expect(Array(streamed.utf8) == Array(tok.decode(ids).utf8), "\(folder) streamed: \(text.debugDescription)")
        }
    }
}

extension BPETokenizerTests {
    /// The demo pair's trained tokenizer (merges stored as pairs) gives the prompt ids HASS's
    /// reference run used (`tokenizer.json` encoding with BOS).
    @Test func demoPairPromptsEncodeAsInTheReference() throws {
        let tok = try Tokenizer(data: try FileSystem.readFile(Fixtures.path("demo-pair/base/tokenizer.json")))
        let prompts = try #require(try Fixtures.json("demo-pair/refs.json")["prompts"]?.arrayValue)
        for p in prompts {
            let text = try #require(p["text"]?.stringValue)
            #expect(
                tok.encode(text, addSpecialTokens: true) == (p["ids"]?.arrayValue ?? []).compactMap(\.intValue),
                "\(p["id"]?.stringValue ?? "")")
            #expect(tok.decode(tok.encode(text)) == text)
        }
    }
}

extension BPETokenizerTests {
    /// LLaMA-2's own `tokenizer.model` (SentencePiece BPE, byte fallback) gives the ids the
    /// sentencepiece library gives (`spm_ids`) and decodes back. Texts that spell a control piece
    /// (`<s>`) are left out: the library reads them as text, hasskit as the token, as transformers
    /// does (`RealTokenizerTests` checks those against references made that way).
    @Test func sentencePieceModelMatchesTheLibrary() throws {
        let tok = try Tokenizer(
            sentencePieceModel: try FileSystem.readFile(Fixtures.path("tokenizers/llama2/tokenizer.model")))
        let cases = try #require(try Fixtures.json("refs/tokenizer_llama2.json")["cases"]?.arrayValue)
        var compared = 0
        for c in cases {
            let text = try #require(c["text"]?.stringValue)
            if ["<s>", "</s>", "<unk>"].contains(where: { text.contains($0) }) { continue }
            compared += 1
            let ids = (c["spm_ids"]?.arrayValue ?? []).compactMap(\.intValue)
            #expect(tok.encode(text) == ids, "\(text.debugDescription)")
            #expect(tok.decode(ids) == c["spm_decoded"]?.stringValue, "decode \(text.debugDescription)")
        }
        #expect(compared > 30)
        #expect(tok.encode("hi", addSpecialTokens: true).first == 1)
        #expect(tok.encode("<s>[INST]").first == 1)
    }

    /// A truncated or garbled model file is an error, not a crash.
    @Test func brokenSentencePieceModelsAreRefused() throws {
        let data = try FileSystem.readFile(Fixtures.path("tokenizers/llama2/tokenizer.model"))
        for cut in [1, 7, 100, data.count / 2, data.count - 3] {
            #expect(throws: TokenizerError.self) { _ = try Tokenizer(sentencePieceModel: Array(data.prefix(cut))) }
        }
        #expect(throws: TokenizerError.self) { _ = try Tokenizer(sentencePieceModel: [0xFF, 0xFF, 0xFF]) }
    }
}

/// The heap merge long words take gives what the plain scan gives (both pick the lowest rank,
/// leftmost first), on random words over a trained vocabulary's alphabet.
@Suite struct MergeOrderTests {
    @Test func heapAndScanAgree() throws {
        let tok = try Tokenizer(
            data: try FileSystem.readFile(Fixtures.path("tokenizers/components/bytelevel_prefix_nfkc_lower.json")))
        var rng = SeededGenerator(seed: 7)
        let alphabet = Array("etaoinshrdlu ".unicodeScalars).compactMap { tok.model.id(of: String($0)) }
        #expect(alphabet.count >= 10)
        for length in [2, 3, 17, 49, 120, 400] {
            for _ in 0..<20 {
                let word = (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
                var a = word
                var b = word
                tok.model.mergeByScan(&a)
                tok.model.mergeWithHeap(&b)
                #expect(a == b, "length \(length)")
            }
        }
    }
}
