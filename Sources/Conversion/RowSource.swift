import Checkpoints
import Platform

/// Reads a source tensor as f32 rows, a band at a time, so memory stays bounded by the band and
/// not the tensor. FP8 weights are multiplied by their 128×128 block scales on the way
/// (DeepSeek's `weight_dequant`).
struct RowSource {
    let tensor: Tensor
    let scale: [Float]?
    let rows: Int
    let columns: Int
    private let data: ByteView
    /// Bytes per row (whole blocks for ggml's block types, whose rows are whole blocks).
    private let rowBytes: Int

    init(tensor: Tensor, scale: Tensor?) throws {
        self.tensor = tensor
        columns = tensor.shape.last ?? 1
        rows = columns == 0 ? 0 : tensor.elementCount / columns
        data = tensor.contiguousData()
        rowBytes = Int(tensor.dtype.byteCount(elements: UInt64(columns)) ?? UInt64(columns))
        if let scale {
            try FP8BlockScale.validate(weight: tensor, scale: scale)
            self.scale = try scale.floats()
        } else {
            self.scale = nil
        }
    }

    /// Rows per band so that a band holds about `targetElements` values (a multiple of 128 rows
    /// for block-scaled FP8, so bands never split a scale block).
    func bandRows(targetElements: Int = 1 << 20) -> Int {
        guard columns > 0 else { return max(rows, 1) }
        var r = max(1, targetElements / columns)
        if rows >= 8 { r = max(8, r / 8 * 8) }  // whole groups of the row-interleaved types
        if scale != nil { r = max(128, r / 128 * 128) }
        return r
    }

    /// Drops rows `[start, start+count)` of a mapped source from the resident set once used.
    func release(start: Int, count: Int) {
        data.slice(start: start * rowBytes, length: count * rowBytes)?.releasePages()
    }

    /// Rows `[start, start+count)` as f32.
    func band(start: Int, count: Int) -> [Float] {
        let n = count * columns
        guard let view = data.slice(start: start * rowBytes, length: count * rowBytes) else {
            preconditionFailure("band outside a validated tensor")
        }
        var values = ElementDecoding.decode(view, as: tensor.dtype, count: n)
        if let scale {
            let scaleColumns = (columns + FP8BlockScale.defaultBlock - 1) / FP8BlockScale.defaultBlock
            for r in 0..<count {
                let row = start + r
                let base = (row / FP8BlockScale.defaultBlock) * scaleColumns
                for c in 0..<columns { values[r * columns + c] *= scale[base + c / FP8BlockScale.defaultBlock] }
            }
        }
        return values
    }
}
