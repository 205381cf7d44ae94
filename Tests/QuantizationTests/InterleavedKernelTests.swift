import CKernels
import Quantization
import Platform
import Testing
import TestSupport

/// The row-interleaved types (Q4_0_R8, Q4_K_R8): the same blocks as Q4_0/Q4_K in another order,
/// so every decoded value equals the base type's; their 8-bit-activation kernels equal the
/// readable reference bit for bit, whatever the batch and however the row range cuts groups.
@Suite struct InterleavedKernelTests {
    static func random(_ count: Int, scale: Float, spikeEvery: Int) -> [Float] {
        var g = SeededGenerator(seed: 1592590343)
        return (0..<count).map { i in Float.random(in: -1...1, using: &g) * scale * (i % spikeEvery == 0 ? 40 : 1) }
    }

    @Test(arguments: [QuantType.q8_0_r8, .q4_0_r8, .q4_k_r8, .q5_0_r8, .q6_k_r8])
    func decodesToTheBaseTypesValues(_ type: QuantType) throws {
        let base = try #require(type.interleavedBase)
        let rows = 24, cols = base.blockSize == 256 ? 512 : 96
        let w = Self.random(rows * cols, scale: 0.03, spikeEvery: 71)
        let plain = try #require(Quantizer.encode(w, as: base))
        var interleaved = [UInt8](repeating: 0, count: plain.count)
        let ok = w.withUnsafeBufferPointer { src in
            interleaved.withUnsafeMutableBytes { Quantizer.encode(src, rows: rows, as: type, into: $0) }
        }
        #expect(ok)
        #expect(interleaved != plain && interleaved.sorted() == plain.sorted())  // a permutation of the same bytes
        let expected = try #require(Quantizer.decode(plain, as: base, count: rows * cols))
        let decoded = try #require(
            interleaved.withUnsafeBytes { Quantizer.decode($0, as: type, rows: rows, cols: cols) })
        #expect(decoded.map(\.bitPattern) == expected.map(\.bitPattern))
        // A single row from the middle of a group.
        var row = [Float](repeating: .nan, count: cols)
        interleaved.withUnsafeBytes { ck_dequantize_rows(type.kernelType!, $0.baseAddress, cols, 13, 14, &row) }
        #expect(row.map(\.bitPattern) == expected[(13 * cols)..<(14 * cols)].map(\.bitPattern))
    }

    @Test func shapesThatCutAGroupAreRefused() {
        #expect(QuantType.q4_0_r8.shapeProblem([16, 64]) == nil)
        #expect(QuantType.q4_0_r8.shapeProblem([12, 64]) != nil)
        #expect(QuantType.q4_k_r8.shapeProblem([256]) != nil)
        #expect(QuantType.q4_k_r8.byteCount(shape: [8, 256]) == QuantType.q4_k.byteCount(shape: [8, 256]))
    }

    /// Rows 3..<69 of 72: the range starts and ends inside a group, so both the kernel and the
    /// reference's row-at-a-time path run; 7 whole groups between, so the AVX-512 kernels (two
    /// groups a register) also take their odd group; the first four take the four-quarters path, in
    /// tiles of up to eight inputs (n = 9, 12: a full tile and a part). The 256-column types'
    /// single input takes the quarters only beyond CK_SINGLE_STREAM_MAX_COLS columns on the
    /// 256-bit kernels, and the groups in order up to it: both are run (512 and 2304 columns).
    /// Every path this CPU has is compared with the reference, in a batch and input by input.
    @Test(arguments: [
        (QuantType.q4_0_r8, 1, 320), (.q4_0_r8, 3, 320), (.q4_0_r8, 9, 320), (.q4_0_r8, 12, 320), (.q4_k_r8, 1, 512),
        (.q4_k_r8, 1, 2304), (.q4_k_r8, 2, 512), (.q4_k_r8, 5, 512), (.q4_k_r8, 11, 512), (.q8_0_r8, 1, 320),
        (.q8_0_r8, 2, 320), (.q8_0_r8, 7, 320), (.q5_0_r8, 1, 320), (.q5_0_r8, 4, 320), (.q5_0_r8, 9, 320),
        (.q6_k_r8, 1, 512), (.q6_k_r8, 1, 2304), (.q6_k_r8, 2, 512), (.q6_k_r8, 6, 512), (.q6_k_r8, 10, 512),
    ])
    func kernelEqualsReferenceBitForBit(_ type: QuantType, _ n: Int, _ cols: Int) throws {
        let base = try #require(type.interleavedBase)
        let rows = 72, begin = 3, end = 69
        let w = Self.random(rows * cols, scale: 0.03, spikeEvery: 89)
        let x = Self.random(n * cols, scale: 2, spikeEvery: 53)
        var q = [UInt8](repeating: 0, count: try #require(type.byteCount(shape: [rows, cols])).asInt)
        _ = w.withUnsafeBufferPointer { src in
            q.withUnsafeMutableBytes { Quantizer.encode(src, rows: rows, as: type, into: $0) }
        }
        let plain = try #require(Quantizer.encode(w, as: base))
        let xq = MatvecKernelTests.q8act(x, cols: cols)
        let kernel = try #require(type.kernelType), baseKernel = try #require(base.kernelType)
        var reference = [Float](repeating: .nan, count: n * rows), fast = reference, viaBase = reference
        q.withUnsafeBytes { wp in
            xq.withUnsafeBytes { xp in
                ck_matmul_rows_q8act_reference(
                    kernel, wp.baseAddress, cols, begin, end, xp.baseAddress, n, &reference, rows)
                #expect(
                    ck_matmul_rows_q8act(kernel, wp.baseAddress, cols, begin, end, xp.baseAddress, n, &fast, rows) == 1)
            }
        }
        let dispatchedEqual = fast.map(\.bitPattern) == reference.map(\.bitPattern)
        #expect(dispatchedEqual, "the dispatched path (\(KernelPath.name)): not the reference's bits")
        for path in KernelPath.everyPath(
            type: kernel, w: q, cols: cols, rows: rows, begin: begin, end: end, xq: xq, n: n)
        {
            let batchEqual = path.batch.map(\.bitPattern) == reference.map(\.bitPattern)
            let singleEqual = path.single.map(\.bitPattern) == reference.map(\.bitPattern)
            #expect(batchEqual, "\(path.name), batch of \(n): not the reference's bits")
            #expect(singleEqual, "\(path.name), each input alone: not the reference's bits")
        }
        plain.withUnsafeBytes { wp in
            xq.withUnsafeBytes {
                _ = ck_matmul_rows_q8act(
                    baseKernel, wp.baseAddress, cols, begin, end, $0.baseAddress, n, &viaBase, rows)
            }
        }
        let decoded = try #require(Quantizer.decode(plain, as: base, count: rows * cols))
        for i in 0..<n {
            for r in 0..<rows {
                let k = i * rows + r
                if r < begin || r >= end {
                    #expect(fast[k].isNaN, "row \(r) is outside the range and must not be written")
                } else {
                    // The same integer block sums as the base type's kernel, summed in another order:
                    // equal up to float rounding of the row's terms.
                    let magnitude = (0..<cols).reduce(Float(0)) { $0 + abs(decoded[r * cols + $1] * x[i * cols + $1]) }
                    #expect(
                        abs(fast[k] - viaBase[k]) <= 1e-5 * max(magnitude, 1),
                        "input \(i) row \(r): \(fast[k]) vs \(viaBase[k])")
                }
            }
        }
    }
}

private extension UInt64 {
    var asInt: Int { Int(self) }
}
