internal import COpenBLAS
import Foundation
import Platform
import Quantization

extension WeightMatrix {
    /// Rows decoded at a time for a batched product: bounds the f32 scratch to 16 MiB whatever
    /// the matrix (an output head of 128k × 4096 would need 2 GiB at once).
    /// Batches up to this size use the fused small-batch kernel where the type has one.
    static let fusedBatchLimit = 16

    /// Batches up to this size use 8-bit activations where the matrix takes them, so that a
    /// verified draft tree (HASS's largest is 60 nodes) gives each node exactly the logits a
    /// single decoding step gives it; longer batches (prompt prefill) go to `cblas_sgemm`.
    static let int8BatchLimit = 64

    /// Whether a batch of n goes to the 8-bit kernels. The row-interleaved types always do: their
    /// batched kernel beats `cblas_sgemm` on decoded rows at any length (pp128 of a 1.1 B model,
    /// one thread: 48.7 vs 31.9 tok/s), and prefill then computes exactly what decoding does.
    func batchTakesInt8(_ n: Int) -> Bool {
        n > 0 && takesInt8Activations && (n <= Self.int8BatchLimit || type.interleavedBase != nil)
    }

    var rowChunk: Int { max(1, min(rows, (4 << 20) / max(cols, 1))) }

    /// Y = X·Wᵀ for a batch X of `n` rows (row-major n × cols); returns n × rows.
    ///
    /// The rows of W are split across `threads` workers, each calling a single-threaded
    /// `cblas_sgemm` on its slice of the output columns. F32 weights go to sgemm straight from the
    /// mapping; other types are decoded a chunk of rows at a time into a per-worker f32 scratch, so
    /// each weight byte is read and decoded once per batch however many rows the batch has (the
    /// point of verifying a draft tree at once), and the decoding runs on every core.
    func applyBatch(_ x: [Float], n: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [Float] {
        precondition(x.count == n * cols, "\(name): batch of \(x.count) values, expected \(n) × \(cols)")
        if batchTakesInt8(n) { return applyInt8(x, n: n, threads: threads) }
        var y = [Float](repeating: 0, count: n * rows)
        guard n > 0 else { return y }
        BLASThreads.once
        let parts = max(1, min(threads, rows / 64))
        data.withUnsafeBytes { raw in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    let input = SendablePointer(UnsafeMutablePointer(mutating: xp.baseAddress!))
                    let out = SendablePointer(yp.baseAddress!)
                    let base = SendableRaw(raw.baseAddress!)
                    let type = self.type, rows = self.rows, cols = self.cols, chunk = rowChunk
                    WorkerPool.shared(threads: threads).run(parts) { p in
                        let begin = partStart(p, of: parts), end = partStart(p + 1, of: parts)
                        if type == .f32 && blockScales == nil {
                            cblas_sgemm(
                                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(end - begin), Int32(cols), 1,
                                input.pointer, Int32(cols),
                                base.pointer.assumingMemoryBound(to: Float.self) + begin * cols, Int32(cols),
                                0, out.pointer + begin, Int32(rows))
                            return
                        }
                        // Small batches (draft levels, narrow trees): the fused kernel reads each
                        // weight block once for the whole batch and stays bit-identical to `apply`.
                        if n <= Self.fusedBatchLimit,
                            Kernels.matmulFused(
                                type, base.pointer, cols: cols, rows: begin..<end, x: input.pointer, n: n,
                                y: out.pointer, ldy: rows)
                        {
                            return
                        }
                        var scratch = [Float](repeating: 0, count: min(chunk, end - begin) * cols)
                        var r0 = begin
                        while r0 < end {
                            let count = min(chunk, end - r0)
                            scratch.withUnsafeMutableBufferPointer { s in
                                decodeRows(base.pointer, r0..<(r0 + count), into: s.baseAddress!)
                                cblas_sgemm(
                                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(count), Int32(cols), 1,
                                    input.pointer, Int32(cols), s.baseAddress, Int32(cols),
                                    0, out.pointer + r0, Int32(rows))
                            }
                            r0 += count
                        }
                    }
                }
            }
        }
        return y
    }
}

/// OpenBLAS would start its own thread per core inside each call; the engine splits the work
/// itself, so BLAS runs single-threaded (set once, before the first product).
enum BLASThreads {
    static let once: Void = openblas_set_num_threads(1)
}
