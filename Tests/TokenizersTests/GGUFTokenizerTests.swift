import Checkpoints
import Foundation
import Platform
import StrictJSON
import Testing
import TestSupport
@testable import Tokenizers

/// A GGUF carrying LLaMA-2's SentencePiece vocabulary (`tokenizer.ggml.model` "llama": tokens,
/// scores, token types, as llama.cpp's converter writes them from `tokenizer.model`) yields a
/// `tokenizer.json` that encodes and decodes as `tokenizer.model` itself does, on the 80 strings.
@Suite(.enabled(if: Fixtures.shared != nil, "needs ../shared/fixtures/real-tokenizers"))
struct GGUFTokenizerTests {
    @Test func sentencePieceVocabularyRebuildsTheTokenizer() throws {
        let modelFile = try FileSystem.readFile((Fixtures.shared ?? "") + "/real-tokenizers/llama2/tokenizer.model")
        let spm = try SentencePieceModel(data: modelFile)
        var b = GGUFBuilder()
        b.metadata = [
            ("general.architecture", .string("llama")), ("llama.embedding_length", .u32(32)),
            ("llama.block_count", .u32(1)), ("llama.attention.head_count", .u32(4)),
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", .strings(spm.pieces.map(\.text))),
            ("tokenizer.ggml.scores", .f32s(spm.pieces.map(\.score))),
            ("tokenizer.ggml.token_type", .i32s(spm.pieces.map { Int32($0.type.rawValue) })),
            ("tokenizer.ggml.bos_token_id", .u32(UInt32(spm.bosID))),
            ("tokenizer.ggml.eos_token_id", .u32(UInt32(spm.eosID))),
            ("tokenizer.ggml.unknown_token_id", .u32(UInt32(spm.unknownID))),
        ]
        b.tensors = [
            ("token_embd.weight", [spm.pieces.count, 32], 0, [UInt8](repeating: 0, count: spm.pieces.count * 128))
        ]
        let dir = Fixtures.temporaryDirectory()
        try Data(b.build()).write(to: URL(fileURLWithPath: dir + "/m.gguf"))
        let checkpoint = try Checkpoint.open(dir + "/m.gguf")
        let json = try #require(checkpoint.generatedFiles.first { $0.0 == "tokenizer.json" }?.1)
        let fromGGUF = try Tokenizer(data: json)
        let fromModel = try Tokenizer(sentencePieceModel: modelFile)
        let cases = try #require(try Fixtures.json("refs/real_tokenizer_llama2_spm.json")["cases"]?.arrayValue)
        for c in cases {
            let text = try #require(c["text"]?.stringValue)
            let ids = fromModel.encode(text, addSpecialTokens: true)
            #expect(fromGGUF.encode(text, addSpecialTokens: true) == ids, "\(c["name"]?.stringValue ?? "")")
            #expect(
                Array(fromGGUF.decode(ids).utf8) == Array(fromModel.decode(ids).utf8), "decode \(text.debugDescription)"
            )
        }
    }
}

extension GGUFTokenizerTests {
    /// DeepSeek-V3/R1 as llama.cpp writes it (`pre` "deepseek-v3", added specials as control
    /// tokens, the others user-defined) encodes as the real `tokenizer.json` on its 70 strings.
    @Test func deepSeekV3VocabularyRebuildsTheTokenizer() throws {
        let folder = (Fixtures.shared ?? "") + "/real-tokenizers"
        let real = try JSONParser(maxDepth: 64).parse(try FileSystem.readFile(folder + "/deepseek_v3/tokenizer.json"))
        var tokens: [Int: String] = [:]
        var types: [Int: Int32] = [:]
        for (token, id) in real["model"]?["vocab"]?.objectMembers ?? [] { tokens[id.intValue ?? 0] = token }
        for t in real["added_tokens"]?.arrayValue ?? [] {
            let id = t["id"]?.intValue ?? 0
            tokens[id] = t["content"]?.stringValue
            types[id] = t["special"]?.boolValue == true ? 3 : 4
        }
        let count = (tokens.keys.max() ?? 0) + 1
        let merges = (real["model"]?["merges"]?.arrayValue ?? []).map { m in
            m.stringValue ?? (m.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
        }
        var b = GGUFBuilder()
        b.metadata = [
            ("general.architecture", .string("llama")), ("llama.embedding_length", .u32(32)),
            ("llama.block_count", .u32(1)), ("llama.attention.head_count", .u32(4)),
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("deepseek-v3")),
            ("tokenizer.ggml.tokens", .strings((0..<count).map { tokens[$0] ?? "[PAD\($0)]" })),
            ("tokenizer.ggml.token_type", .i32s((0..<count).map { types[$0] ?? 1 })),
            ("tokenizer.ggml.merges", .strings(merges)), ("tokenizer.ggml.bos_token_id", .u32(0)),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
        ]
        b.tensors = [("token_embd.weight", [count, 32], 0, [UInt8](repeating: 0, count: count * 128))]
        let dir = Fixtures.temporaryDirectory()
        try Data(b.build()).write(to: URL(fileURLWithPath: dir + "/m.gguf"))
        let json = try #require(
            try Checkpoint.open(dir + "/m.gguf").generatedFiles.first { $0.0 == "tokenizer.json" }?.1)
        let fromGGUF = try Tokenizer(data: json)
        let refs = try JSONParser(maxDepth: 64).parse(try FileSystem.readFile(folder + "/refs_deepseek_v3.json"))
        for c in refs["cases"]?.arrayValue ?? [] {
            let text = try #require(c["text"]?.stringValue)
            #expect(
                fromGGUF.encode(text) == (c["ids"]?.arrayValue ?? []).compactMap(\.intValue),
                "\(c["name"]?.stringValue ?? "")")
        }
    }
}
