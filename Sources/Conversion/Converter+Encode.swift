import Checkpoints
import Platform
import Quantization
import WeightFormat

extension Converter {
    /// Copies a GGUF tensor's blocks as they are; into a row-interleaved type, 256 rows at a time.
    static func copyBlocks(_ p: Planned, into writer: HKWWriter) throws {
        let data = p.source.contiguousData()
        defer { data.releasePages() }
        guard p.type.interleavedBase != nil else {
            try writer.append(data)
            return
        }
        let columns = p.source.shape.last ?? 1
        let rows = p.source.elementCount / max(columns, 1)
        let rowBytes = data.count / max(rows, 1)
        var out = [UInt8](repeating: 0, count: 256 * rowBytes)
        var start = 0
        while start < rows {
            let n = min(256, rows - start)
            guard let band = data.slice(start: start * rowBytes, length: n * rowBytes) else {
                preconditionFailure("band outside a validated tensor")
            }
            try band.withUnsafeBytes { plain in
                try out.withUnsafeMutableBytes { dst in
                    let target = UnsafeMutableRawBufferPointer(rebasing: dst[0..<(n * rowBytes)])
                    Quantizer.interleave(plain, rows: n, as: p.type, into: target)
                    try writer.append(UnsafeRawBufferPointer(target))
                }
            }
            start += n
        }
    }

    /// Encodes a tensor band by band; returns its relative RMS error against the source values.
    ///
    /// Bands are processed `workers` at a time in parallel (decode, check, encode, measure the
    /// error) and written in order, so output bytes do not depend on the thread count.
    static func encode(_ p: Planned, into writer: HKWWriter, outPath: String) throws -> Double {
        let rows = try RowSource(tensor: p.source, scale: p.scale)
        let band = rows.bandRows()
        precondition(
            band % p.type.interleavedRows == 0 || band >= rows.rows,
            "bands of \(band) rows cut \(p.type.rawValue) groups")
        let workers = min(8, WorkerPool.cores)
        var sse = 0.0
        var ssx = 0.0
        var start = 0
        while start < rows.rows {
            var starts: [Int] = []
            var s = start
            while s < rows.rows && starts.count < workers {
                starts.append(s)
                s += band
            }
            let slots = BandSlots(count: starts.count)
            let bandStarts = starts
            let total = rows.rows
            let type = p.type
            WorkerPool.shared(threads: workers).run(bandStarts.count) { j in
                let count = min(band, total - bandStarts[j])
                slots.set(j, encodeBand(rows, start: bandStarts[j], count: count, type: type))
            }
            for j in 0..<starts.count {
                let r = slots.get(j)
                if let bad = r.nonFinite {
                    throw ConversionError(
                        .nonFiniteValue(tensor: p.source.name, index: starts[j] * rows.columns + bad),
                        path: p.source.file)
                }
                if r.overflow {
                    throw ConversionError(.overflow(tensor: p.source.name, type: p.type.rawValue), path: p.source.file)
                }
                guard let bytes = r.bytes else {
                    throw ConversionError(.unsupportedType(p.type.rawValue), path: outPath)
                }
                sse += r.sse
                ssx += r.ssx
                try writer.append(bytes)
            }
            rows.release(start: start, count: min(s, rows.rows) - start)
            start = s
        }
        p.source.contiguousData().releasePages()
        return ssx > 0 ? (sse / ssx).squareRoot() : (sse > 0 ? 1 : 0)
    }

    struct BandResult: Sendable {
        var bytes: ByteView?
        var sse = 0.0
        var ssx = 0.0
        var nonFinite: Int?
        var overflow = false
    }

    /// Per-band results written by concurrent workers, each to its own slot.
    final class BandSlots: @unchecked Sendable {
        // Each index is written by exactly one worker and read after the pool's `run` returns.
        private var results: UnsafeMutableBufferPointer<BandResult>
        init(count: Int) {
            results = .allocate(capacity: count)
            results.initialize(repeating: BandResult())
        }
        deinit {
            results.deinitialize()
            results.deallocate()
        }
        func set(_ i: Int, _ r: BandResult) { results[i] = r }
        func get(_ i: Int) -> BandResult { results[i] }
    }

    static func encodeBand(_ rows: RowSource, start: Int, count: Int, type: QuantType) -> BandResult {
        let values = rows.band(start: start, count: count)
        let bad = values.withUnsafeBufferPointer { Kernels.firstNonFinite($0) }
        if bad < values.count { return BandResult(nonFinite: bad) }
        let size = values.count / type.blockSize * type.bytesPerBlock
        var encoded = true
        let storage = ByteStorage.build(count: size) { out in
            encoded = values.withUnsafeBufferPointer { Quantizer.encode($0, rows: count, as: type, into: out) }
        }
        let bytes = storage.view
        guard encoded,
            let back = bytes.withUnsafeBytes({ Quantizer.decode($0, as: type, rows: count, cols: rows.columns) })
        else {
            return BandResult()
        }
        if back.withUnsafeBufferPointer({ Kernels.firstNonFinite($0) }) < back.count {
            return BandResult(overflow: true)
        }
        var r = BandResult(bytes: bytes)
        (r.sse, r.ssx) = Kernels.errorSums(approx: back, exact: values)
        return r
    }

    /// Quantizes a 2-D weight to E4M3 with one scale per 128×128 block (scale = amax / 448);
    /// returns the relative RMS error and the scales, row-major.
    static func quantizeFP8(_ p: Planned, into writer: HKWWriter) throws -> (Double, [Float]) {
        let rows = try RowSource(tensor: p.source, scale: nil)
        let block = FP8BlockScale.defaultBlock
        let scaleColumns = (rows.columns + block - 1) / block
        var scales: [Float] = []
        var sse = 0.0
        var ssx = 0.0
        var start = 0
        while start < rows.rows {
            let count = min(block, rows.rows - start)
            let values = rows.band(start: start, count: count)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw ConversionError(
                    .nonFiniteValue(tensor: p.source.name, index: start * rows.columns + bad), path: p.source.file)
            }
            var bandScales = [Float](repeating: 0, count: scaleColumns)
            for r in 0..<count {
                for c in 0..<rows.columns {
                    bandScales[c / block] = max(bandScales[c / block], abs(values[r * rows.columns + c]))
                }
            }
            bandScales = bandScales.map { $0 > 0 ? $0 / 448 : 1 }
            var codes = [UInt8](repeating: 0, count: values.count)
            for r in 0..<count {
                for c in 0..<rows.columns {
                    let i = r * rows.columns + c
                    let s = bandScales[c / block]
                    codes[i] = Kernels.f8e4m3(values[i] / s)
                    let back = Double(F8E4M3.decode(codes[i])) * Double(s)
                    let d = back - Double(values[i])
                    sse += d * d
                    ssx += Double(values[i]) * Double(values[i])
                }
            }
            try writer.append(codes)
            rows.release(start: start, count: count)
            scales += bandScales
            start += count
        }
        return (ssx > 0 ? (sse / ssx).squareRoot() : 0, scales)
    }
}
