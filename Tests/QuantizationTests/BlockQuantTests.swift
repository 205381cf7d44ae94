import CKernels
import Platform
import Quantization
import Testing
import TestSupport

/// Q8_0/Q4_0/Q5_0/Q5_1: the C kernels (fast and generic) equal the Swift reference, and all equal the gguf
/// Python package's bytes on the committed vectors (`Scripts/gen_quant_vectors.py`).
@Suite struct BlockQuantTests {
    static func floats(_ relative: String) throws -> [Float] {
        let bytes = try FileSystem.readFile(Fixtures.path(relative))
        var out: [Float] = []
        for i in stride(from: 0, to: bytes.count, by: 4) {
            var bits = UInt32(bytes[i])
            bits |= UInt32(bytes[i + 1]) << 8
            bits |= UInt32(bytes[i + 2]) << 16
            bits |= UInt32(bytes[i + 3]) << 24
            out.append(Float(bitPattern: bits))
        }
        return out
    }

    @Test func q8_0MatchesGGUFPython() throws {
        let x = try Self.floats("quant/input_f32.bin")
        let expected = try FileSystem.readFile(Fixtures.path("quant/q8_0.bin"))
        #expect(Quantizer.encode(x, as: .q8_0) == expected)
        #expect(BlockQuantReference.quantizeQ8_0(x) == expected)
        var generic = [UInt8](repeating: 0, count: expected.count)
        ck_quantize_q8_0_generic(x, &generic, x.count)
        #expect(generic == expected)
        let deq = try Self.floats("quant/q8_0_dequant_f32.bin")
        #expect(Quantizer.decode(expected, as: .q8_0, count: x.count)?.map(\.bitPattern) == deq.map(\.bitPattern))
        #expect(BlockQuantReference.dequantizeQ8_0(expected).map(\.bitPattern) == deq.map(\.bitPattern))
    }

    @Test func q4_0MatchesGGUFPython() throws {
        let x = try Self.floats("quant/input_f32.bin")
        let expected = try FileSystem.readFile(Fixtures.path("quant/q4_0.bin"))
        #expect(Quantizer.encode(x, as: .q4_0) == expected)
        var generic = [UInt8](repeating: 0, count: expected.count)
        ck_quantize_q4_0_generic(x, &generic, x.count)
        #expect(generic == expected)
        #expect(BlockQuantReference.quantizeQ4_0(x) == expected)
        let deq = try Self.floats("quant/q4_0_dequant_f32.bin")
        let ours = try #require(Quantizer.decode(expected, as: .q4_0, count: x.count))
        for (a, b) in zip(ours, deq) { #expect(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)) }
    }

    /// Q5_0 and Q5_1 have one C quantizer each (scalar: they are the fallback for a few
    /// matrices), so gguf-py's bytes are their oracle, and its decoder's values.
    @Test(arguments: [QuantType.q5_0, .q5_1])
    func fiveBitTypesMatchGGUFPython(_ type: QuantType) throws {
        let name = type.rawValue.lowercased()
        let x = try Self.floats("quant/input_f32.bin")
        let expected = try FileSystem.readFile(Fixtures.path("quant/\(name).bin"))
        #expect(Quantizer.encode(x, as: type) == expected)
        let deq = try Self.floats("quant/\(name)_dequant_f32.bin")
        let ours = try #require(Quantizer.decode(expected, as: type, count: x.count))
        for (a, b) in zip(ours, deq) { #expect(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)) }
    }

    @Test(arguments: [0, 1, 2, 31, 129])
    func fastPathEqualsReferenceOnRandomRows(_ blocks: Int) {
        var state: UInt64 = UInt64(blocks) &+ 99
        let x: [Float] = (0..<(blocks * 32)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 20)
        }
        #expect(Quantizer.encode(x, as: .q8_0) == BlockQuantReference.quantizeQ8_0(x))
        #expect(Quantizer.encode(x, as: .q4_0) == BlockQuantReference.quantizeQ4_0(x))
        var generic8 = [UInt8](repeating: 0, count: blocks * 34)
        var generic4 = [UInt8](repeating: 0, count: blocks * 18)
        ck_quantize_q8_0_generic(x, &generic8, x.count)
        ck_quantize_q4_0_generic(x, &generic4, x.count)
        #expect(Quantizer.encode(x, as: .q8_0) == generic8)
        #expect(Quantizer.encode(x, as: .q4_0) == generic4)
    }

    @Test func elementTypesRoundTrip() throws {
        let x: [Float] = [0, 1, -2.5, 65504, 1e-8, 3.1415927]
        for type in [QuantType.f32, .f16, .bf16] {
            let bytes = try #require(Quantizer.encode(x, as: type))
            #expect(bytes.count == x.count * type.bytesPerBlock)
            let back = try #require(Quantizer.decode(bytes, as: type, count: x.count))
            if type == .f32 { #expect(back == x) }
            for (a, b) in zip(back, x) { #expect(abs(a - b) <= abs(b) * 0.01 + 1e-7, "\(type)") }
        }
    }
}
