import Foundation
import Conversion
@testable import Inference
import Testing
import TestSupport
import WeightFormat

/// A prompt longer than the 8-bit batch limit (64) through a row-interleaved model: prefill runs
/// the same 8-bit kernels as decoding, so the prompt's last logits are, bit for bit, those of
/// feeding it one token at a time. (Plain-layout files send such a batch to f32 sgemm instead.)
@Suite struct InterleavedPrefillTests {
    @Test(arguments: [ConversionType.q8_0, .q4_0])
    func longPrefillEqualsTokenByTokenDecoding(_ type: ConversionType) throws {
        let out = Fixtures.temporaryDirectory() + "/base.hkw"
        // The output head at the same type (not llama.cpp's Q6_K, which has no interleaved form).
        var options = Converter.Options(type: type)
        options.outputType = type
        _ = try Converter.convert(source: Fixtures.path("demo-pair/base"), out: out, options: options)
        #expect(try HKWFile(path: out).tensors.contains { $0.type?.interleavedBase != nil })
        let model = try LlamaModel(path: out, threads: 2)
        let prompt = (0..<80).map { ($0 * 37 + 11) % 500 }
        let batched =
            model.forward(tokens: prompt, cache: model.makeCache(), positions: nil, visible: nil).logits.last ?? []
        let cache = model.makeCache()
        var stepped: [Float] = []
        for t in prompt { stepped = model.step(token: t, cache: cache, position: nil, visible: nil).logits }
        #expect(!batched.isEmpty && batched.map(\.bitPattern) == stepped.map(\.bitPattern))
    }

    /// A layer's q, k and v (and gate and up) read one input: one quantization and one job for
    /// all of them, each result bit for bit what the matrix gives alone, one input or several,
    /// with mixed types (Q4_K_M's Q6_K v beside Q4_K q and k) and rows split over the workers.
    @Test(arguments: [ConversionType.q8_0, .q4_k_m])
    func matricesSharingAnInputGiveTheirOwnBits(_ type: ConversionType) throws {
        let out = Fixtures.temporaryDirectory() + "/base.hkw"
        _ = try Converter.convert(source: Fixtures.path("demo-pair/base"), out: out, options: .init(type: type))
        let model = try LlamaModel(path: out, threads: 2)
        let cols = model.config.hidden
        for layer in model.layers.prefix(2) {
            for n in [1, 3, 9] {
                let x = (0..<(n * cols)).map { Float(sin(Double($0) * 0.37)) }
                for group in [[layer.q, layer.k, layer.v], [layer.gate, layer.up]] {
                    let together = WeightMatrix.applyInt8(group, x, n: n, threads: 2)
                    for (w, y) in zip(group, together) {
                        let alone = w.applyInt8(x, n: n, threads: 2)
                        let same = y.map(\.bitPattern) == alone.map(\.bitPattern)
                        #expect(same, "\(w.name) (\(w.type)), n = \(n): not the bits it gives alone")
                    }
                }
            }
        }
    }
}
