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

    /// A decode step's products pick their kernel by thread count (one thread streams a K-quant
    /// through the 256-bit kernels on an AVX-512 CPU) and split the rows into several parts per
    /// thread: neither may move a bit. Each matrix's single input, on one thread and on two,
    /// equals its row of an eight-input batch.
    @Test func aSingleInputGivesTheSameBitsOnOneThreadAndOnTwo() throws {
        let out = Fixtures.temporaryDirectory() + "/base.hkw"
        _ = try Converter.convert(source: Fixtures.path("demo-pair/base"), out: out, options: .init(type: .q4_k_m))
        let model = try LlamaModel(path: out, threads: 2)
        let matrices =
            model.layers.prefix(2).flatMap { [$0.q, $0.k, $0.v, $0.o, $0.gate, $0.up, $0.down] } + [model.output]
        #expect(matrices.contains { $0.type == .q4_k_r8 } && matrices.contains { $0.type == .q6_k_r8 })
        for w in matrices {
            let n = 8
            let x = (0..<(n * w.cols)).map { Float(cos(Double($0) * 0.23)) }
            let batch = w.applyInt8(x, n: n, threads: 2)
            for i in [0, 5] {
                let input = Array(x[(i * w.cols)..<((i + 1) * w.cols)])
                let expected = batch[(i * w.rows)..<((i + 1) * w.rows)].map(\.bitPattern)
                for threads in [1, 2] {
                    let single = w.applyInt8(input, n: 1, threads: threads).map(\.bitPattern)
                    let differing = zip(single, expected).filter { $0 != $1 }.count
                    #expect(
                        single.count == expected.count && differing == 0,
                        "\(w.name) (\(w.type)), input \(i) on \(threads) thread(s): \(differing) of \(w.rows) rows differ from the batch"
                    )
                }
            }
        }
    }
}
