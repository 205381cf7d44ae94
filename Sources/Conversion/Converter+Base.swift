import Checkpoints
import Quantization
import WeightFormat

extension Converter {
    /// True when a draft's tensor equals the base's `baseName` (its embedding, or the output head
    /// an MTP layer repeats), within what the base's own storage type can hold (its recorded
    /// quantization error, or exactness for lossless types).
    static func matchesBase(_ head: Tensor, baseName: String, base: HKWFile, basePath: String) throws -> Bool {
        guard let be = base.tensor(named: baseName), let type = be.type, type.interleavedBase == nil else {
            return false
        }
        guard be.shape == head.shape else {
            throw ConversionError(
                .draftBase(
                    "the draft's \(head.name) is \(head.shape) but the base's \(baseName) is \(be.shape): this draft was not made for this base"
                ), path: basePath)
        }
        let recorded = base.metadata["quality"]?[baseName]?["rel_rmse"]?.doubleValue ?? 0
        let tolerance = max(1e-6, 2 * recorded)
        let source = try RowSource(tensor: head, scale: nil)
        let band = source.bandRows()
        var sse = 0.0
        var ssx = 0.0
        var start = 0
        while start < source.rows {
            let count = min(band, source.rows - start)
            let mine = source.band(start: start, count: count)
            let offset = start * source.columns / type.blockSize * type.bytesPerBlock
            let length = mine.count / type.blockSize * type.bytesPerBlock
            guard let slice = be.data.slice(start: offset, length: length),
                let theirs = slice.withUnsafeBytes({ Quantizer.decode($0, as: type, rows: count, cols: source.columns) }
                )
            else { return false }
            for (a, b) in zip(mine, theirs) {
                sse += Double(a - b) * Double(a - b)
                ssx += Double(a) * Double(a)
            }
            start += count
        }
        let rel = ssx > 0 ? (sse / ssx).squareRoot() : 0
        return rel <= tolerance
    }
}
