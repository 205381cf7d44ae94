import CKernels
import Checkpoints
import Crypto
import StrictJSON
import Testing
import TestSupport

/// Element conversions against PyTorch's casts (`refs/dtypes.json`) and DeepSeek's FP8 block
/// dequantization (`refs/deepseek_v3_fp8.json`).
@Suite struct ElementConversionTests {
    static func hex(_ s: String?) -> UInt32 { UInt32(s ?? "", radix: 16) ?? 0xDEAD_BEEF }

    @Test func narrowingMatchesTorch() throws {
        let json = try Fixtures.json("refs/dtypes.json")
        let cases = try #require(json["float32_to_narrow_rne"]?["cases"]?.arrayValue)
        #expect(cases.count > 50)
        let inputs = cases.map { Float(bitPattern: Self.hex($0["f32_bits"]?.stringValue)) }
        let bf16 = ElementEncoding.bf16(inputs)
        let f16 = ElementEncoding.f16(inputs)
        var bf16Generic = [UInt16](repeating: 0, count: inputs.count)
        var f16Generic = [UInt16](repeating: 0, count: inputs.count)
        ck_f32_to_bf16_generic(inputs, &bf16Generic, inputs.count)
        ck_f32_to_f16_generic(inputs, &f16Generic, inputs.count)
        for (i, c) in cases.enumerated() {
            let label = c["f32_bits"]?.stringValue ?? ""
            #expect(UInt32(bf16[i]) == Self.hex(c["bf16_bits"]?.stringValue), "bf16 of \(label)")
            #expect(UInt32(bf16Generic[i]) == Self.hex(c["bf16_bits"]?.stringValue), "generic bf16 of \(label)")
            let expectedF16 = Self.hex(c["f16_bits"]?.stringValue)
            if inputs[i].isNaN {
                #expect(Float16(bitPattern: f16[i]).isNaN && Float16(bitPattern: f16Generic[i]).isNaN)
            } else {
                #expect(UInt32(f16[i]) == expectedF16, "f16 of \(label)")
                #expect(UInt32(f16Generic[i]) == expectedF16, "generic f16 of \(label)")
            }
            if let fp8 = c["fp8_e4m3fn_after_clamp_448_bits"]?.stringValue {
                #expect(UInt32(ElementEncoding.f8e4m3(inputs[i])) == Self.hex(fp8), "fp8 of \(label)")
            }
        }
    }

    @Test func fp8DecodeTableMatchesTorch() throws {
        let json = try Fixtures.json("refs/dtypes.json")
        let values = try #require(json["fp8_e4m3fn_decode"]?["values_by_code"]?.arrayValue)
        let c = try Checkpoint.open(Fixtures.path("dtypes/fp8_e4m3fn_all_codes.safetensors"))
        let decoded = try #require(c.tensor(named: "codes")).floats()
        let codes = try #require(c.tensor(named: "codes_u8")).contiguousData().array
        #expect(decoded.count == 256 && values.count == 256)
        for (i, v) in values.enumerated() {
            let code = codes[i]
            if let expected = v.doubleValue {
                #expect(decoded[i] == Float(expected), "code \(code)")
                #expect(F8E4M3.decode(code) == Float(expected), "reference decode of \(code)")
            } else {
                #expect(decoded[i].isNaN, "code \(code) should be NaN")
            }
        }
    }

    @Test func deepSeekBlockDequantMatchesReference() throws {
        let refs = try #require(try Fixtures.json("refs/deepseek_v3_fp8.json")["fp8_dequant_checks"]?.arrayValue)
        let checkpoint = try Checkpoint.open(Fixtures.path("deepseek_v3"))
        #expect(refs.count > 10)
        var crossShard = 0
        for ref in refs {
            let name = try #require(ref["name"]?.stringValue)
            let weight = try #require(checkpoint.tensor(named: name))
            let scale = try #require(checkpoint.tensor(named: FP8BlockScale.scaleName(for: name)))
            if weight.file != scale.file { crossShard += 1 }
            let values = try FP8BlockScale.dequantize(weight: weight, scale: scale)
            var bytes: [UInt8] = []
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            #expect(digest == ref["sha256_dequant_f32_le"]?.stringValue, "f32 dequant of \(name)")
            var bf16Bytes: [UInt8] = []
            for b in ElementEncoding.bf16(values) {
                withUnsafeBytes(of: b.littleEndian) { bf16Bytes.append(contentsOf: $0) }
            }
            let bf16Digest = SHA256.hash(data: bf16Bytes).map { String(format: "%02x", $0) }.joined()
            #expect(bf16Digest == ref["sha256_dequant_bf16_le"]?.stringValue, "bf16 dequant of \(name)")
        }
        try ConversionPolicy.check(checkpoint)
        // The fixture keeps some scales in another shard than their weights: that lookup is covered.
        #expect(crossShard > 0, "no reference weight has its scale in another shard")
    }

    @Test func fp8WeightWithWrongScaleShapeIsRefused() throws {
        let c = try Checkpoint.open(Fixtures.path("hostile/st_fp8_scale_wrong_shape.safetensors"))
        let w = try #require(c.tensors.first { $0.dtype == .f8e4m3 })
        let s = try #require(c.tensor(named: FP8BlockScale.scaleName(for: w.name)))
        #expect(throws: CheckpointError.self) { try FP8BlockScale.dequantize(weight: w, scale: s) }
    }
}
