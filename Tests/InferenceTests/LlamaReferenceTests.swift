import Conversion
import Inference
import StrictJSON
import Testing
import TestSupport
import WeightFormat

/// The engine against transformers (`refs/<model>.json`): last-position logits and greedy
/// continuations of every prompt, from F32 conversions of the fixture checkpoints.
@Suite struct LlamaReferenceTests {
    @Test(arguments: ["llama3", "llama2", "qwen2"])
    func matchesTransformers(_ name: String) throws {
        let out = Fixtures.temporaryDirectory() + "/\(name).hkw"
        _ = try Converter.convert(source: Fixtures.path(name), out: out, options: .init(type: .f32))
        let model = try LlamaModel(path: out, threads: 2)
        let refs = try #require(try Fixtures.json("refs/\(name).json")["prompts"]?.arrayValue)
        try TransformersReference.expectMatches(model, prompts: refs, label: name, tolerance: 1e-3)
    }
}

/// Quantized conversions against the F32 one. The fixtures have random weights, so some greedy
/// steps are near-ties (top-2 margins of 0.04 in the references): no quantization can promise to
/// keep those. Q8_0 and BF16 must give the same tokens as F32 before the first step whose F32
/// top-2 margin is below 0.1; Q4_0 only has to run. The first divergence is reported.
@Suite struct QuantizedGreedyTests {
    @Test(arguments: ["llama3", "llama2", "qwen2"])
    func q8_0MatchesF32(_ name: String) throws {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(source: Fixtures.path(name), out: dir + "/f32.hkw", options: .init(type: .f32))
        let reference = try LlamaModel(path: dir + "/f32.hkw", threads: 2)
        let refs = try #require(try Fixtures.json("refs/\(name).json")["prompts"]?.arrayValue)
        for type in [ConversionType.q8_0, .q4_0, .bf16] {
            _ = try Converter.convert(
                source: Fixtures.path(name), out: dir + "/\(type.rawValue).hkw", options: .init(type: type))
            let model = try LlamaModel(path: dir + "/\(type.rawValue).hkw", threads: 2)
            for p in refs {
                let ids = try p.ints("input_ids")
                let ref = reference.greedy(prompt: ids, maxTokens: 16)
                let got = model.greedy(prompt: ids, maxTokens: 16).tokens
                let divergence = zip(ref.tokens, got).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                let safe = ref.margins.firstIndex { $0 < 0.1 } ?? ref.tokens.count
                if type == .q8_0 || type == .bf16 {
                    #expect(
                        Array(got.prefix(safe)) == Array(ref.tokens.prefix(safe)),
                        "\(name) \(type.rawValue) diverges at token \(divergence ?? -1), before the first near-tie at \(safe)"
                    )
                } else {
                    #expect(got.count == ref.tokens.count)
                }
            }
        }
    }

    /// q4_k on rows that do not fit a K-quant block (the LLaMA-3 fixture's are 128 wide) stores
    /// them as Q5_0, as llama.cpp does: the engine runs them, and they keep the logits closer to
    /// the f32 file's than Q4_0 does (f32 activations, so only the weights differ).
    @Test func q5_0RowsRunAndBeatQ4_0() throws {
        let dir = Fixtures.temporaryDirectory()
        var logits: [ConversionType: [Float]] = [:]
        for type in [ConversionType.f32, .q4_0, .q4_k] {
            let path = dir + "/\(type.rawValue).hkw"
            _ = try Converter.convert(source: Fixtures.path("llama3"), out: path, options: .init(type: type))
            let model = try LlamaModel(path: path, threads: 1, activations: .f32)
            logits[type] = model.prefill(tokens: [1, 17, 300, 42, 9], cache: model.makeCache()).logits
        }
        #expect(try HKWFile(path: dir + "/q4_k.hkw").tensor(named: "blk.0.attn_q.weight")?.type == .q5_0_r8)
        func distance(_ type: ConversionType) -> Float {
            zip(logits[type]!, logits[.f32]!).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        }
        #expect(distance(.q4_k) > 0)
        #expect(distance(.q4_k) < distance(.q4_0), "q4_k (Q5_0 rows) \(distance(.q4_k)) vs q4_0 \(distance(.q4_0))")
    }
}
