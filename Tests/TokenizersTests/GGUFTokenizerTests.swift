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
