internal import COpenBLAS
import CKernels
import Foundation

extension WeightMatrix {
    /// Rows decoded at a time for a batched product: bounds the f32 scratch to 16 MiB whatever
    /// the matrix (an output head of 128k × 4096 would need 2 GiB at once).
    var rowChunk: Int { max(1, min(rows, (4 << 20) / max(cols, 1))) }

    /// Y = X·Wᵀ for a batch X of `n` rows (row-major n × cols); returns n × rows.
    ///
    /// F32 weights go to `cblas_sgemm` straight from the mapping; other types are decoded a chunk
    /// of rows at a time into f32 and multiplied chunk by chunk, so each weight byte is read once
    /// per batch however many rows the batch has (the point of verifying a draft tree at once).
    func applyBatch(_ x: [Float], n: Int) -> [Float] {
        precondition(x.count == n * cols, "\(name): batch of \(x.count) values, expected \(n) × \(cols)")
        var y = [Float](repeating: 0, count: n * rows)
        guard n > 0 else { return y }
        data.withUnsafeBytes { raw in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    if type == .f32 {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(cols), 1,
                                    xp.baseAddress, Int32(cols), raw.baseAddress?.assumingMemoryBound(to: Float.self), Int32(cols),
                                    0, yp.baseAddress, Int32(rows))
                        return
                    }
                    let stride = ck_row_bytes(ckType, cols)
                    let chunk = rowChunk
                    var scratch = [Float](repeating: 0, count: chunk * cols)
                    var r0 = 0
                    while r0 < rows {
                        let count = min(chunk, rows - r0)
                        scratch.withUnsafeMutableBufferPointer { s in
                            for r in 0..<count {
                                ck_dequantize_row(ckType, raw.baseAddress! + (r0 + r) * stride, s.baseAddress! + r * cols, cols)
                            }
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(count), Int32(cols), 1,
                                        xp.baseAddress, Int32(cols), s.baseAddress, Int32(cols),
                                        0, yp.baseAddress! + r0, Int32(rows))
                        }
                        r0 += count
                    }
                }
            }
        }
        return y
    }
}
