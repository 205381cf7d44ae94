import Dispatch
import Foundation
import Platform
import Quantization
import WeightFormat

/// A weight tensor used in place from the mapped `.hkw` file: rows decoded on the fly, never a
/// dequantized copy of the model.
public struct WeightMatrix: Sendable {
    public let name: String
    public let type: QuantType
    public let rows: Int
    public let cols: Int
    let data: ByteView
    /// Whether products quantize their input to 8 bits (fixed when the model opens).
    let int8Activations: Bool
    /// An FP8 matrix's scales, one per 128 × 128 block (row-major over the blocks); nil for the
    /// other types.
    let blockScales: [Float]?

    init(_ e: HKWFile.Entry, path: String, activations: Activations) throws {
        name = e.name
        int8Activations = activations == .int8
        guard let t = e.type else { throw InferenceError("\(e.name) has no type", path: path) }
        type = t
        switch e.shape.count {
        case 1:
            rows = 1
            cols = e.shape[0]
        case 2:
            rows = e.shape[0]
            cols = e.shape[1]
        default:
            throw InferenceError("\(e.name) has shape \(e.shape); the engine uses vectors and matrices", path: path)
        }
        guard t.hasKernel else {
            throw InferenceError("\(e.name) is stored as \(t.rawValue), which the engine does not run yet", path: path)
        }
        if let problem = t.shapeProblem(e.shape) {
            throw InferenceError("\(e.name): \(problem)", path: path, kind: .malformed)
        }
        data = e.data
        blockScales = nil
    }

    /// An FP8 E4M3 matrix (`--type fp8`, DeepSeek's block-scaled weights kept as stored), used in
    /// place from the mapping: value = fp8 × `scale[row / 128, col / 128]` (the stored
    /// `weight_scale_inv`; an unscaled FP8 tensor has scale 1). Products decode a few rows at a
    /// time into f32 scratch (`decodeFP8`), so the model holds its file's bytes, not a 4× copy;
    /// the values, and so the products, are bit for bit those of a full f32 copy.
    init(fp8 e: HKWFile.Entry, scale: HKWFile.Entry?, path: String) throws {
        name = e.name
        int8Activations = false
        guard e.shape.count == 2 || e.shape.count == 1 else {
            throw InferenceError("\(e.name) has shape \(e.shape); the engine uses vectors and matrices", path: path)
        }
        let rows = e.shape.count == 2 ? e.shape[0] : 1, cols = e.shape.last ?? 0
        self.rows = rows
        self.cols = cols
        type = .f8e4m3
        let blockRows = (rows + 127) / 128, blockCols = (cols + 127) / 128
        var scales = [Float](repeating: 1, count: blockRows * blockCols)
        if let scale {
            guard scale.type == .f32, scale.shape == [blockRows, blockCols] else {
                throw InferenceError(
                    "\(scale.name) is \(scale.type?.rawValue ?? "?") \(scale.shape); \(e.name) (\(rows)×\(cols)) needs F32 [\(blockRows), \(blockCols)]",
                    path: path, kind: .malformed)
            }
            scales = scale.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        guard e.data.count == rows * cols else {
            throw InferenceError(
                "\(e.name) holds \(e.data.count) bytes, \(rows)×\(cols) FP8 needs \(rows * cols)", path: path)
        }
        data = e.data
        blockScales = scales
    }

    /// Rows `ids` of this matrix as a matrix of their own (the draft vocabulary's slice of an
    /// output head): the blocks byte for byte, row-interleaved again when this matrix was and the
    /// count allows it, so each kept row's products are computed as before. FP8 rows are decoded.
    func selectingRows(_ ids: [Int]) -> WeightMatrix {
        if let blockScales {
            var values = [Float](repeating: 0, count: ids.count * cols)
            data.withUnsafeBytes { raw in
                values.withUnsafeMutableBufferPointer { v in
                    for (i, r) in ids.enumerated() {
                        Self.decodeFP8(
                            raw.baseAddress!, scales: blockScales, cols: cols, rows: r..<(r + 1),
                            into: v.baseAddress! + i * cols)
                    }
                }
            }
            return WeightMatrix(
                name: name + "[draft vocabulary]", type: .f32, rows: ids.count, cols: cols,
                data: ByteView(values.withUnsafeBytes { Array($0) }, label: name), int8Activations: false)
        }
        let plain = type.interleavedBase ?? type
        var bytes = data.withUnsafeBytes { Kernels.gatherRows(type, $0.baseAddress!, cols: cols, rows: ids) }
        var stored = plain
        if let fast = plain.interleaved, type.interleavedBase != nil, fast.shapeProblem([ids.count, cols]) == nil {
            var grouped = [UInt8](repeating: 0, count: bytes.count)
            bytes.withUnsafeBytes { src in
                grouped.withUnsafeMutableBytes { Quantizer.interleave(src, rows: ids.count, as: fast, into: $0) }
            }
            bytes = grouped
            stored = fast
        }
        return WeightMatrix(
            name: name + "[draft vocabulary]", type: stored, rows: ids.count, cols: cols,
            data: ByteView(bytes, label: name), int8Activations: int8Activations)
    }

    init(name: String, type: QuantType, rows: Int, cols: Int, data: ByteView, int8Activations: Bool) {
        self.name = name
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.int8Activations = int8Activations
        blockScales = nil
    }

    /// Rows `range` of an FP8 matrix decoded into `dst` (range.count × cols): each value fp8 → f32,
    /// then × its block's scale, the same two operations as `Kernels.applyBlockScales` on a copy.
    static func decodeFP8(
        _ base: UnsafeRawPointer, scales: [Float], cols: Int, rows range: Range<Int>,
        into dst: UnsafeMutablePointer<Float>
    ) {
        Kernels.f8e4m3ToF32(
            base.assumingMemoryBound(to: UInt8.self) + range.lowerBound * cols, dst, count: range.count * cols)
        let blockCols = (cols + 127) / 128
        for (i, r) in range.enumerated() {
            let row = dst + i * cols, first = (r / 128) * blockCols
            for j in 0..<blockCols {
                let s = scales[first + j]
                for c in (j * 128)..<min(cols, (j + 1) * 128) { row[c] *= s }
            }
        }
    }

    /// Rows `range` as f32 into `dst`, whatever the type.
    func decodeRows(_ base: UnsafeRawPointer, _ range: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        if let blockScales {
            Self.decodeFP8(base, scales: blockScales, cols: cols, rows: range, into: dst)
        } else {
            Kernels.dequantizeRows(type, base, cols: cols, rows: range, into: dst)
        }
    }

    /// Bytes of the stored tensor.
    public var byteCount: Int { data.count }

    /// The whole tensor as f32 (norms and biases: small).
    func vector() -> [Float] { row(0) }

    /// Row `r` as f32 (embedding lookups).
    func row(_ r: Int) -> [Float] {
        var out = [Float](repeating: 0, count: cols)
        data.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { decodeRows(raw.baseAddress!, r..<(r + 1), into: $0.baseAddress!) }
        }
        return out
    }

    /// Rows stored together (8 for the row-interleaved types): work is split on multiples of it.
    var rowGroup: Int { type.interleavedRows }

    /// The first row of part `p` of `parts` (a multiple of rowGroup, so no part cuts a group).
    func partStart(_ p: Int, of parts: Int) -> Int {
        let groups = (rows + rowGroup - 1) / rowGroup
        return min(rows, groups * p / parts * rowGroup)
    }

    /// Q8_0, Q4_0, Q4_K and Q6_K matrices multiply 8-bit activations (llama.cpp's scheme) unless
    /// the model was opened with `Activations.f32`.
    public var takesInt8Activations: Bool {
        int8Activations && Kernels.takesQ8Activations(type, cols: cols)
    }

    /// The n inputs of `x` (row-major n × cols) quantized to 8 bits, one after the other.
    func quantizeActivations(_ x: [Float], n: Int) -> [UInt8] {
        let bytes = Kernels.q8ActivationBytes(cols: cols)
        var out = [UInt8](repeating: 0, count: n * bytes)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBytes { o in
                for i in 0..<n {
                    Kernels.quantizeActivations(
                        xp.baseAddress! + i * cols, cols: cols, into: o.baseAddress! + i * bytes)
                }
            }
        }
        return out
    }

    /// Inputs per call of the 8-bit kernel in a long batch: the kernel reads every input's
    /// activations for each group of rows, so tiles keep them in the core's cache (64 inputs of
    /// 4096 columns are 600 KiB).
    static let int8InputTile = 64

    /// Parts per thread of a single input's products on several threads (a decode step), taken
    /// from the pool as each thread finishes one. Decoding is memory-bound and the cores do not
    /// stream at equal rates from one product to the next, so with one part each a thread waited
    /// for the other: in a two-thread Q4_K_M decode of the 1.1 B model, 14–17 % of the samples
    /// were the two threads spinning at the barrier, 7 % with eight parts each (`perf record`).
    static let singleInputPartsPerThread = 8

    /// Y = X·Wᵀ over 8-bit activations for the n inputs of `x`, rows split across `threads`; each
    /// input's result is bit-identical to what it gives alone.
    func applyInt8(_ x: [Float], n: Int, threads: Int) -> [Float] {
        Self.applyInt8([self], x, n: n, threads: threads)[0]
    }

    /// The products of several matrices of `cols` columns with the same n inputs (a layer's q, k
    /// and v; gate and up), 8-bit activations: the input is quantized once and the workers take
    /// every matrix's parts from one job, so they meet at one barrier instead of one per matrix.
    /// Each result has exactly the bits `applyInt8` gives that matrix alone (a row's product does
    /// not depend on how the rows are split).
    static func applyInt8(_ ms: [WeightMatrix], _ x: [Float], n: Int, threads: Int) -> [[Float]] {
        guard let first = ms.first else { return [] }
        precondition(
            ms.allSatisfy { $0.cols == first.cols } && x.count == n * first.cols,
            "inputs of \(x.count) values, expected \(n) × \(first.cols)")
        let xq = first.quantizeActivations(x, n: n)
        let cols = first.cols, inputBytes = Kernels.q8ActivationBytes(cols: cols), tile = int8InputTile
        // A single input on several threads: up to singleInputPartsPerThread parts per thread, of
        // at least 64 rows (a part's call costs about a microsecond of its own).
        let parts = ms.map { w in
            let even = max(1, min(threads, w.rows / 16))
            return n == 1 && threads > 1 ? max(even, min(threads * singleInputPartsPerThread, w.rows / 64)) : even
        }
        let tasks = ms.indices.flatMap { m in (0..<parts[m]).map { (matrix: m, part: $0) } }
        let paths = ms.map { Kernels.q8Path($0.type, cols: $0.cols, inputs: n, threads: threads) }
        return withOutputs(ms.map { n * $0.rows }[...], []) { outputs in
            xq.withUnsafeBytes { q in
                let input = SendableRaw(q.baseAddress!)
                let outs = outputs.map(SendablePointer.init)
                WorkerPool.shared(threads: threads).run(tasks.count) { t in
                    let (m, p) = tasks[t], w = ms[m]
                    let begin = w.partStart(p, of: parts[m]), end = w.partStart(p + 1, of: parts[m])
                    w.data.withUnsafeBytes { raw in
                        for t0 in stride(from: 0, to: n, by: tile) {
                            let done = Kernels.matmulQ8(
                                w.type, raw.baseAddress!, cols: cols, rows: begin..<end,
                                xq: input.pointer + t0 * inputBytes, n: min(tile, n - t0),
                                y: outs[m].pointer + t0 * w.rows, ldy: w.rows, path: paths[m])
                            // takesInt8Activations checked the type; the outputs are not zeroed.
                            precondition(done, "\(w.name): no 8-bit kernel for \(w.type)")
                        }
                    }
                }
            }
        }
    }

    /// Arrays of `counts` floats, every one of which `body` writes through their pointers (they are
    /// not zeroed first: the parts of a product cover its rows, and zeroing a batch's outputs was
    /// 5 % of the main thread's time in an 8-position pass).
    private static func withOutputs(
        _ counts: ArraySlice<Int>, _ pointers: [UnsafeMutablePointer<Float>],
        _ body: ([UnsafeMutablePointer<Float>]) -> Void
    ) -> [[Float]] {
        guard let count = counts.first else {
            body(pointers)
            return []
        }
        var rest: [[Float]] = []
        let array = [Float](unsafeUninitializedCapacity: max(count, 1)) { buffer, initialized in
            rest = withOutputs(counts.dropFirst(), pointers + [buffer.baseAddress!], body)
            initialized = count
        }
        return [array] + rest
    }

    /// y = W·x, rows split across `threads`.
    func apply(_ x: [Float], threads: Int) -> [Float] {
        precondition(x.count == cols, "\(name): input of \(x.count), expected \(cols)")
        if takesInt8Activations { return applyInt8(x, n: 1, threads: threads) }
        var y = [Float](repeating: 0, count: rows)
        let parts = max(1, min(threads, rows / 16))
        data.withUnsafeBytes { raw in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    let out = SendablePointer(yp.baseAddress!)
                    let input = SendablePointer(UnsafeMutablePointer(mutating: xp.baseAddress!))
                    let base = SendableRaw(raw.baseAddress!)
                    let type = self.type, cols = self.cols
                    WorkerPool.shared(threads: threads).run(parts) { p in
                        let begin = partStart(p, of: parts), end = partStart(p + 1, of: parts)
                        var scratch = [Float](repeating: 0, count: cols)
                        var decoded = [Float](repeating: 0, count: blockScales == nil ? 0 : cols)
                        scratch.withUnsafeMutableBufferPointer { s in
                            guard blockScales != nil else {
                                Kernels.matvec(
                                    type, base.pointer, cols: cols, rows: begin..<end, x: input.pointer,
                                    y: out.pointer, scratch: s.baseAddress!)
                                return
                            }
                            // FP8: each row decoded, then the F32 product an f32 copy would run.
                            decoded.withUnsafeMutableBufferPointer { d in
                                for r in begin..<end {
                                    decodeRows(base.pointer, r..<(r + 1), into: d.baseAddress!)
                                    Kernels.matvec(
                                        .f32, UnsafeRawPointer(d.baseAddress!), cols: cols, rows: 0..<1,
                                        x: input.pointer, y: out.pointer + r, scratch: s.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}

/// Pointers handed to worker threads that write disjoint ranges (the caller waits for them).
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ p: UnsafeMutablePointer<Float>) { pointer = p }
}

struct SendableRaw: @unchecked Sendable {
    let pointer: UnsafeRawPointer
    init(_ p: UnsafeRawPointer) { pointer = p }
}

/// What the quantized products (Q8_0, Q4_0, Q4_K, Q6_K) multiply, chosen per model when it opens:
/// `.int8` quantizes each input to 8 bits per 32 values as llama.cpp does (fast; near-tied logits
/// may swap), `.f32` keeps the inputs exact (the exact product of the stored weights, slower).
/// The portable kernels (`HASSKIT_KERNELS=reference`, read by CKernels itself) are a process-wide
/// test switch, not a model option.
public enum Activations: String, Sendable, CaseIterable {
    case int8
    case f32

    /// `.int8`, or what `HASSKIT_ACTIVATIONS` names (`f32` or `int8`) for commands not told.
    public static let `default`: Activations =
        ProcessInfo.processInfo.environment["HASSKIT_ACTIVATIONS"].flatMap(Activations.init(rawValue:)) ?? .int8
}
