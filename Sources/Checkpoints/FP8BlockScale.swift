import Quantization

/// DeepSeek-V3/R1 block-scaled FP8 weights: an `F8_E4M3` weight `[M, N]` with an F32 sibling
/// `<name>_scale_inv` of shape `[ceil(M/128), ceil(N/128)]`; each value is
/// `float32(fp8) × scale_inv[i / 128, j / 128]` (a multiply, despite the name), with partial
/// blocks at the right and bottom edges. This is `inference/kernel.py::weight_dequant`.
public enum FP8BlockScale {
    /// The block edge DeepSeek uses (`weight_block_size: [128, 128]`).
    public static let defaultBlock = 128

    /// Name of the scale tensor that belongs to `weightName`.
    public static func scaleName(for weightName: String) -> String { weightName + "_scale_inv" }

    /// Checks that `scale` fits `weight` and returns the dequantized f32 values (row-major).
    /// - Throws: `CheckpointError` when the types or shapes do not fit, or the weight holds NaN.
    public static func dequantize(weight: Tensor, scale: Tensor, block: Int = defaultBlock) throws -> [Float] {
        try validate(weight: weight, scale: scale, block: block)
        let s = try scale.floats()
        var values = try weight.floats()
        Kernels.applyBlockScales(&values, rows: weight.shape[0], cols: weight.shape[1], scales: s, block: block)
        return values
    }

    /// Checks types, shapes and that the weight holds no NaN code, without decoding it.
    /// - Throws: `CheckpointError`.
    public static func validate(weight: Tensor, scale: Tensor, block: Int = defaultBlock) throws {
        func fail(_ m: String) -> CheckpointError {
            CheckpointError(.fp8(tensor: weight.name, detail: m), path: weight.file)
        }
        guard weight.dtype == .f8e4m3 else { throw fail("weight is \(weight.dtype.rawValue), expected F8_E4M3") }
        guard scale.dtype == .f32 else { throw fail("scale \(scale.name) is \(scale.dtype.rawValue), expected F32") }
        guard weight.shape.count == 2 else { throw fail("weight has shape \(weight.shape), expected 2 dimensions") }
        let (m, n) = (weight.shape[0], weight.shape[1])
        let expected = [(m + block - 1) / block, (n + block - 1) / block]
        guard scale.shape == expected else {
            throw fail(
                "scale \(scale.name) has shape \(scale.shape), expected \(expected) for a \(weight.shape) weight in \(block)×\(block) blocks"
            )
        }
        // One byte per element: scanning is cheap next to conversion. In place, and the mapped
        // pages released after, so planning a 163-shard checkpoint does not make it all resident.
        let data = weight.contiguousData()
        let bad: (index: Int, code: UInt8)? = data.withUnsafeBytes { raw in
            raw.firstIndex { $0 & 0x7F == 0x7F }.map { ($0, raw[$0]) }
        }
        data.releasePages()
        if let bad {
            throw fail(
                "element \(bad.index) (row \(bad.index / max(n, 1)), column \(bad.index % max(n, 1))) is NaN (0x\(String(bad.code, radix: 16)))"
            )
        }
    }
}
