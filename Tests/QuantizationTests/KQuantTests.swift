import CKernels
import Platform
import Quantization
import Testing
import TestSupport

/// Q4_K/Q5_K/Q6_K: layouts decode exactly as the gguf Python package decodes them; the C
/// quantizers give ggml's own reference quantizers' bytes and equal the Swift reference bit for
/// bit; quantization error stays within the documented bounds.
@Suite struct KQuantTests {
    static func randomValues(_ count: Int, seed: UInt64, scale: Float = 0.02) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            // Sum of uniforms: roughly normal, with occasional larger values.
            var acc: Float = 0
            for _ in 0..<4 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                acc += Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
            }
            return acc * scale
        }
    }

    @Test(arguments: [("q4_k", QuantType.q4_k), ("q5_k", .q5_k), ("q6_k", .q6_k)])
    func layoutMatchesGGUFPython(_ name: String, _ type: QuantType) throws {
        let blocks = try FileSystem.readFile(Fixtures.path("quant/\(name)_blocks.bin"))
        let expected = try BlockQuantTests.floats("quant/\(name)_blocks_dequant_f32.bin")
        let n = blocks.count / type.bytesPerBlock * 256
        let ours = try #require(Quantizer.decode(blocks, as: type, count: n))
        #expect(ours.map(\.bitPattern) == expected.map(\.bitPattern))
        if type != .q5_k {
            let reference =
                type == .q4_k ? KQuantReference.dequantizeQ4_K(blocks) : KQuantReference.dequantizeQ6_K(blocks)
            #expect(reference.map(\.bitPattern) == expected.map(\.bitPattern))
        }
    }

    /// The bytes of ggml's `quantize_row_q4_K_ref`/`_q5_K_ref`/`_q6_K_ref` on 24 super-blocks of
    /// every kind (`Scripts/gen_kquant_quantizer_vectors.py`): what `llama-quantize` writes.
    @Test(arguments: [("q4_k", QuantType.q4_k), ("q5_k", .q5_k), ("q6_k", .q6_k)])
    func quantizerGivesGGMLsBytes(_ name: String, _ type: QuantType) throws {
        let x = try BlockQuantTests.floats("quant/kquant_input_f32.bin")
        let expected = try FileSystem.readFile(Fixtures.path("quant/\(name)_ref.bin"))
        let ours = try #require(Quantizer.encode(x, as: type))
        let firstDifference = zip(ours, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(
            ours == expected, "\(name): first difference in super-block \((firstDifference ?? 0) / type.bytesPerBlock)")
    }

    @Test(arguments: [1, 3, 16])
    func quantizersEqualTheReference(_ blocks: Int) throws {
        let x = Self.randomValues(blocks * 256, seed: UInt64(blocks))
        #expect(Quantizer.encode(x, as: .q4_k) == KQuantReference.quantizeQ4_K(x))
        #expect(Quantizer.encode(x, as: .q6_k) == KQuantReference.quantizeQ6_K(x))
    }

    /// Many super-blocks, some heavy-tailed: rounding-order slips in a vectorised search show up
    /// only at rare near ties of the candidate scales, which a few blocks do not reach.
    @Test func quantizersEqualTheReferenceOnManyBlocks() throws {
        var x = Self.randomValues(1024 * 256, seed: 7)
        for i in stride(from: 0, to: x.count, by: 37) { x[i] *= 40 }
        let q4 = Quantizer.encode(x, as: .q4_k) == KQuantReference.quantizeQ4_K(x)
        let q6 = Quantizer.encode(x, as: .q6_k) == KQuantReference.quantizeQ6_K(x)
        #expect(q4, "Q4_K bytes differ from the reference's")
        #expect(q6, "Q6_K bytes differ from the reference's")
    }

    @Test func specialBlocks() throws {
        var x = [Float](repeating: 0, count: 256)  // all zero
        x += (0..<256).map { Float($0) }  // all positive: min clamps to 0
        x += (0..<256).map { -Float($0) / 256 }  // all negative
        var spike = [Float](repeating: 1e-3, count: 256)
        spike[17] = 50
        x += spike
        // Sub-blocks of one super-block that end the search differently (the AVX2 search runs the
        // eight side by side): constant negative (returns at once), constant positive, zeros, and
        // random ones.
        var mixed = Self.randomValues(256, seed: 99)
        for i in 96..<128 { mixed[i] = 0.5 }
        for i in 160..<192 { mixed[i] = -0.25 }
        for i in 192..<224 { mixed[i] = 0 }
        x += mixed
        #expect(Quantizer.encode(x, as: .q4_k) == KQuantReference.quantizeQ4_K(x))
        #expect(Quantizer.encode(x, as: .q6_k) == KQuantReference.quantizeQ6_K(x))
        let q6 = try #require(Quantizer.encode(x, as: .q6_k))
        let back = try #require(Quantizer.decode(q6, as: .q6_k, count: x.count))
        #expect(back[0..<256].allSatisfy { $0 == 0 })
    }

    @Test(arguments: [
        (QuantType.q4_k, 0.12), (.q6_k, 0.03), (.q8_0, 0.01), (.q4_0, 0.12), (.q5_0, 0.06), (.q5_1, 0.06),
        (.q5_k, 0.06),
    ])
    func errorIsBounded(_ type: QuantType, _ bound: Double) throws {
        let x = Self.randomValues(64 * 256, seed: 42)
        let q = try #require(Quantizer.encode(x, as: type))
        #expect(q.count == x.count / type.blockSize * type.bytesPerBlock)
        let back = try #require(Quantizer.decode(q, as: type, count: x.count))
        var sse = 0.0, ssx = 0.0
        for (a, b) in zip(back, x) {
            sse += Double(a - b) * Double(a - b)
            ssx += Double(b) * Double(b)
        }
        let rel = (sse / ssx).squareRoot()
        #expect(rel <= bound, "\(type.rawValue): \(rel)")
        #expect(rel > 0)
    }
}
