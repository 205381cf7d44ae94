import Conversion
import Inference
import StrictJSON
import Testing
import TestSupport

/// DeepSeek-V3 (MLA, sigmoid-routed MoE, YaRN) against transformers on the tiny FP8 fixture
/// (`refs/deepseek_v3.json`): last-position logits and greedy continuations, from the FP8
/// checkpoint converted to F32 (dequantized while converting) and kept as FP8 (dequantized when
/// the model opens).
@Suite struct DeepSeekReferenceTests {
    @Test(arguments: [ConversionType.f32, .fp8])
    func matchesTransformers(_ type: ConversionType) throws {
        let out = Fixtures.temporaryDirectory() + "/deepseek-\(type.rawValue).hkw"
        _ = try Converter.convert(source: Fixtures.path("deepseek_v3"), out: out, options: .init(type: type))
        let model = try DeepSeekModel(path: out, threads: 2)
        let refs = try #require(try Fixtures.json("refs/deepseek_v3.json")["prompts"]?.arrayValue)
        #expect(refs.count == 3)
        for p in refs {
            let name = p["name"]?.stringValue ?? ""
            let ids = (p["input_ids"]?.arrayValue ?? []).compactMap(\.intValue)
            let expected = (p["last_logits"]?.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) }
            let greedy = (p["greedy48"]?.arrayValue ?? p["greedy16"]?.arrayValue ?? []).compactMap(\.intValue)
            let (tokens, logits) = model.greedy(prompt: ids, maxTokens: greedy.count)
            #expect(logits.count == expected.count)
            let scale = expected.map { abs($0) }.max() ?? 1
            let worst = zip(logits, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-3 * max(1, scale), "\(type.rawValue) \(name): max |Δlogit| \(worst)")
            #expect(tokens == greedy, "\(type.rawValue) \(name)")
        }
    }
}
