import Conversion
@testable import Inference
import Testing
import TestSupport

/// The activation mode is a property of each opened model, not of the process: one process holds
/// an 8-bit-activation model and an exact one of the same file, each keeping its own numbers, and
/// a head follows its base.
@Suite struct ActivationModeTests {
    @Test func eachModelKeepsItsOwnMode() throws {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(
            source: Fixtures.path("demo-pair/base"), out: dir + "/q8.hkw", options: .init(type: .q8_0))
        _ = try Converter.convert(
            source: Fixtures.path("demo-pair/base"), out: dir + "/f32.hkw", options: .init(type: .f32))
        let prompt = [1, 45, 283, 310, 344, 38]
        func logits(_ m: LlamaModel) -> [Float] {
            m.forward(tokens: prompt, cache: m.makeCache(), positions: nil, visible: nil).logits.last ?? []
        }
        let exact = try LlamaModel(path: dir + "/q8.hkw", threads: 2, activations: .f32)
        let int8 = try LlamaModel(path: dir + "/q8.hkw", threads: 2, activations: .int8)
        let reference = try LlamaModel(path: dir + "/f32.hkw", threads: 2)
        let first = logits(exact), quantized = logits(int8), full = logits(reference)
        #expect(exact.activations == .f32 && int8.activations == .int8)
        // The two modes compute different products of the same weights...
        let sameBits = first.map(\.bitPattern) == quantized.map(\.bitPattern)
        #expect(!sameBits)
        // ...and opening or running the 8-bit model changes nothing for the exact one.
        let again = logits(exact).map(\.bitPattern) == first.map(\.bitPattern)
        #expect(again)
        // Both stay near the f32 weights' logits (Q8_0 weights differ from them by ~0.4 %).
        func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }
        let scale = full.map(abs).max() ?? 1
        #expect(maxDiff(first, full) < 0.05 * scale && maxDiff(quantized, full) < 0.05 * scale)
    }

    @Test func aHeadFollowsItsBase() throws {
        let dir = Fixtures.temporaryDirectory()
        let pair = Fixtures.path("demo-pair")
        _ = try Converter.convert(source: pair + "/base", out: dir + "/base.hkw", options: .init(type: .q8_0))
        var options = Converter.Options(type: .q8_0)
        options.draftOf = dir + "/base.hkw"
        _ = try Converter.convert(source: pair + "/draft", out: dir + "/draft.hkw", options: options)
        for mode in Activations.allCases {
            let base = try Models.openBase(path: dir + "/base.hkw", threads: 1, activations: mode)
            let head = try Models.openDraft(path: dir + "/draft.hkw", base: base)
            let fc = try #require((head as? DraftHead)?.fc)
            #expect(fc.int8Activations == (mode == .int8))
        }
    }
}
