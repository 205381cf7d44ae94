import Checks
import Conversion
import Inference
import Testing
import TestSupport

/// `hasskit eval`'s measure on the trained demo base: a model against itself is exactly zero
/// divergence with full agreement; Q8_0 against f32 is close, Q4_0 further away, as expected.
@Suite struct FidelityEvalTests {
    @Test func divergenceOrdersTheTypes() throws {
        let dir = Fixtures.temporaryDirectory()
        var files: [ConversionType: String] = [:]
        for type in [ConversionType.f32, .q8_0, .q4_0] {
            files[type] = dir + "/\(type.rawValue).hkw"
            _ = try Converter.convert(
                source: Fixtures.path("demo-pair/base"), out: files[type]!, options: .init(type: type))
        }
        let extras = try ModelExtras(path: files[.f32]!)
        let tokenizer = try #require(extras.tokenizer)
        let tokens = Array(tokenizer.encode(FidelityEval.defaultText).prefix(600))
        let prefix = tokenizer.encode("", addSpecialTokens: true)
        let reference = try Models.openBase(path: files[.f32]!, threads: 2)
        func eval(_ type: ConversionType) throws -> FidelityReport {
            let m = type == .f32 ? reference : try Models.openBase(path: files[type]!, threads: 2)
            return FidelityEval.run(model: m, reference: reference, tokens: tokens, prefix: prefix, context: 128)
        }
        let same = try eval(.f32)
        #expect(same.positions > 250)
        #expect(same.meanKLD == 0 && same.maxKLD == 0 && same.top1Agreement == 1)
        #expect(same.perplexity == same.referencePerplexity)
        let q8 = try eval(.q8_0)
        let q4 = try eval(.q4_0)
        #expect(q8.meanKLD > 0 && q8.meanKLD < 0.01, "\(q8)")
        #expect(q4.meanKLD > q8.meanKLD, "\(q4) vs \(q8)")
        #expect(q8.top1Agreement > 0.9 && q8.top1Agreement >= q4.top1Agreement)
        #expect(abs(q8.referencePerplexity - same.perplexity) < 1e-9)
    }
}
