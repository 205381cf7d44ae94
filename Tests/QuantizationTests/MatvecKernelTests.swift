import CKernels
import Quantization
import Testing

/// The fused Q8_0 and Q4_0 matrix-vector kernels against the reference path (decode the row, then dot),
/// on random rows of several widths, with large and tiny block scales.
@Suite struct MatvecKernelTests {
    @Test(arguments: [(QuantType.q8_0, 32), (.q8_0, 96), (.q8_0, 2048), (.q4_0, 32), (.q4_0, 96), (.q4_0, 2048)])
    func fusedEqualsReference(_ quant: QuantType, _ cols: Int) throws {
        var g = SystemRandomNumberGenerator()
        let rows = 37
        let w = (0..<(rows * cols)).map { i in Float.random(in: -1...1, using: &g) * (i % 97 == 0 ? 40 : 0.02) }
        let x = (0..<cols).map { _ in Float.random(in: -2...2, using: &g) }
        let q = try #require(Quantizer.encode(w, as: quant))
        var fused = [Float](repeating: 0, count: rows), reference = fused
        var scratch = [Float](repeating: 0, count: cols)
        let type = Int32(quant == .q8_0 ? CK_TYPE_Q8_0 : CK_TYPE_Q4_0)
        q.withUnsafeBytes { wp in
            ck_matvec_rows(type, wp.baseAddress, cols, 0, rows, x, &fused, &scratch)
            ck_matvec_rows_reference(type, wp.baseAddress, cols, 0, rows, x, &reference, &scratch)
        }
        // Same products, other summation order: equal up to float rounding of the row's terms.
        for r in 0..<rows {
            let magnitude = (0..<cols).reduce(Float(0)) { $0 + abs(w[r * cols + $1] * x[$1]) }
            #expect(abs(fused[r] - reference[r]) <= 1e-5 * max(magnitude, 1), "row \(r): \(fused[r]) vs \(reference[r])")
        }
    }
}

extension MatvecKernelTests {
    /// The small-batch Q8_0 kernel gives, for every input of the batch, exactly the bits the
    /// single-input kernel gives: verification of a draft tree agrees with plain decoding.
    @Test(arguments: [1, 3, 4, 7, 16])
    func batchedQ8_0IsBitIdenticalToSingleInputs(_ n: Int) throws {
        var g = SystemRandomNumberGenerator()
        let rows = 19, cols = 256
        let w = (0..<(rows * cols)).map { _ in Float.random(in: -0.05...0.05, using: &g) }
        let x = (0..<(n * cols)).map { _ in Float.random(in: -2...2, using: &g) }
        let q = try #require(Quantizer.encode(w, as: .q8_0))
        let type = Int32(CK_TYPE_Q8_0)
        var batched = [Float](repeating: .nan, count: n * rows)
        var scratch = [Float](repeating: 0, count: cols)
        q.withUnsafeBytes { wp in
            guard ck_matmul_rows_fused(type, wp.baseAddress, cols, 0, rows, x, n, &batched, rows) != 0 else { return }
            for i in 0..<n {
                var single = [Float](repeating: 0, count: rows)
                let xi = Array(x[(i * cols)..<((i + 1) * cols)])
                ck_matvec_rows(type, wp.baseAddress, cols, 0, rows, xi, &single, &scratch)
                #expect(Array(batched[(i * rows)..<((i + 1) * rows)]).map(\.bitPattern) == single.map(\.bitPattern), "input \(i)")
            }
        }
    }
}
