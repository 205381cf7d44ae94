import CKernels
import Quantization
import Platform
import Testing
import TestSupport

/// The fused Q8_0 and Q4_0 matrix-vector kernels against the reference path (decode the row, then dot),
/// on random rows of several widths, with large and tiny block scales.
@Suite struct MatvecKernelTests {
    @Test(
        .enabled(if: KernelPath.fast, KernelPath.skipReason),
        arguments: [(QuantType.q8_0, 32), (.q8_0, 96), (.q8_0, 2048), (.q4_0, 32), (.q4_0, 96), (.q4_0, 2048)])
    func fusedEqualsReference(_ quant: QuantType, _ cols: Int) throws {
        var g = SeededGenerator(seed: 1592590339)
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
            #expect(
                abs(fused[r] - reference[r]) <= 1e-5 * max(magnitude, 1), "row \(r): \(fused[r]) vs \(reference[r])")
        }
    }
}

extension MatvecKernelTests {
    /// The small-batch Q8_0 kernel gives, for every input of the batch, exactly the bits the
    /// single-input kernel gives: verification of a draft tree agrees with plain decoding.
    @Test(.enabled(if: KernelPath.fast, KernelPath.skipReason), arguments: [1, 3, 4, 7, 16])
    func batchedQ8_0IsBitIdenticalToSingleInputs(_ n: Int) throws {
        var g = SeededGenerator(seed: 1592590340)
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
                #expect(
                    Array(batched[(i * rows)..<((i + 1) * rows)]).map(\.bitPattern) == single.map(\.bitPattern),
                    "input \(i)")
            }
        }
    }
}

/// Products with 8-bit activations (llama.cpp's scheme, the default for Q8_0/Q4_0 weights).
extension MatvecKernelTests {
    static func q8act(_ x: [Float], cols: Int) -> [UInt8] {
        let n = x.count / cols, bytes = ck_q8act_bytes(cols)
        var out = [UInt8](repeating: 0, count: n * bytes)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBytes { o in
                for i in 0..<n { ck_quantize_q8act(xp.baseAddress! + i * cols, cols, o.baseAddress! + i * bytes) }
            }
        }
        return out
    }

    /// The AVX2 kernel equals the readable reference bit for bit, for every batch size, and each
    /// input of a batch gets the bits it gets alone; the result is the f32 product up to the
    /// activations' 8-bit rounding.
    @Test(arguments: [
        (QuantType.q8_0, 1), (.q8_0, 3), (.q8_0, 4), (.q8_0, 16), (.q8_0, 60), (.q4_0, 1), (.q4_0, 5), (.q4_0, 60),
        (.q5_0, 1), (.q5_0, 6), (.q5_0, 60), (.q5_1, 1), (.q5_1, 6), (.q4_k, 1), (.q4_k, 7), (.q5_k, 1), (.q5_k, 7),
        (.q6_k, 1), (.q6_k, 5),
    ])
    func int8ActivationKernelsAgreeBitForBit(_ quant: QuantType, _ n: Int) throws {
        var g = SeededGenerator(seed: 1592590341)
        let rows = 23, cols = quant.blockSize == 256 ? 512 : 320
        let w = (0..<(rows * cols)).map { i in Float.random(in: -1...1, using: &g) * (i % 89 == 0 ? 30 : 0.03) }
        let x = (0..<(n * cols)).map { i in Float.random(in: -2...2, using: &g) * (i % 53 == 0 ? 50 : 1) }
        let q = try #require(Quantizer.encode(w, as: quant))
        let xq = Self.q8act(x, cols: cols)
        let type = try #require(quant.kernelType)
        var fast = [Float](repeating: .nan, count: n * rows), reference = fast
        var scratch = [Float](repeating: 0, count: cols)
        q.withUnsafeBytes { wp in
            xq.withUnsafeBytes { xp in
                #expect(ck_matmul_rows_q8act(type, wp.baseAddress, cols, 0, rows, xp.baseAddress, n, &fast, rows) == 1)
                ck_matmul_rows_q8act_reference(type, wp.baseAddress, cols, 0, rows, xp.baseAddress, n, &reference, rows)
                for i in [0, n - 1] {
                    var single = [Float](repeating: .nan, count: rows)
                    _ = ck_matmul_rows_q8act(
                        type, wp.baseAddress, cols, 0, rows, xp.baseAddress! + i * ck_q8act_bytes(cols), 1, &single,
                        rows)
                    #expect(
                        single.map(\.bitPattern) == Array(fast[(i * rows)..<((i + 1) * rows)]).map(\.bitPattern),
                        "input \(i) alone")
                }
            }
            let dispatchedEqual = fast.map(\.bitPattern) == reference.map(\.bitPattern)
            #expect(dispatchedEqual, "\(KernelPath.name): not the reference's bits")
            // Every SIMD path this CPU has, in a batch and input by input (rows 23: the AVX-512
            // kernels also take their odd row).
            for path in KernelPath.everyPath(
                type: type, w: q, cols: cols, rows: rows, begin: 0, end: rows, xq: xq, n: n)
            {
                let batchEqual = path.batch.map(\.bitPattern) == reference.map(\.bitPattern)
                let singleEqual = path.single.map(\.bitPattern) == reference.map(\.bitPattern)
                #expect(batchEqual, "\(quant.rawValue) \(path.name), batch of \(n): not the reference's bits")
                #expect(singleEqual, "\(quant.rawValue) \(path.name), each input alone: not the reference's bits")
            }
            // Against f32 activations: each activation moves by at most half a step of its block.
            for i in 0..<n {
                let xi = Array(x[(i * cols)..<((i + 1) * cols)])
                var exact = [Float](repeating: 0, count: rows)
                ck_matvec_rows_reference(type, wp.baseAddress, cols, 0, rows, xi, &exact, &scratch)
                var decoded = [Float](repeating: 0, count: rows * cols)
                decoded.withUnsafeMutableBufferPointer { d in
                    for r in 0..<rows {
                        ck_dequantize_row(
                            type, wp.baseAddress! + r * ck_row_bytes(type, cols), d.baseAddress! + r * cols, cols)
                    }
                }
                for r in 0..<rows {
                    var bound: Float = 0
                    for b in 0..<(cols / 32) {
                        let step = (0..<32).map { abs(xi[b * 32 + $0]) }.max()! / 127
                        bound += (0..<32).reduce(Float(0)) { $0 + abs(decoded[r * cols + b * 32 + $1]) } * step / 2
                    }
                    #expect(abs(fast[i * rows + r] - exact[r]) <= bound * 1.01 + 1e-4, "input \(i) row \(r)")
                }
            }
        }
    }

    @Test func activationQuantizationStaysInRangeAndMapsNaNToZero() {
        var x = (0..<64).map { Float($0) - 20 }
        x[3] = .nan
        x[40] = 1e30
        let xq = Self.q8act(x, cols: 64)
        #expect(xq.count == ck_q8act_bytes(64))
        // Layout: 8 int32 lane sums, the f32 scale, the int32 sum, 32 int8 values, the f32 scale × sum, 8 int32 lane sums × −32, the two half sums × −32 per block.
        let q = xq[40..<72].map { Int8(bitPattern: $0) }
        #expect(q[3] == 0 && q.allSatisfy { $0 >= -127 && $0 <= 127 })
        #expect(
            xq[36..<40].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } == q.reduce(Int32(0)) { $0 + Int32($1) })
        #expect(ck_q8act_bytes(32) == 116)
        #expect(
            xq[76..<80].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } == -32
                * q[0..<4].reduce(Int32(0)) { $0 + Int32($1) })
        #expect(
            xq[72..<76].withUnsafeBytes { $0.loadUnaligned(as: Float.self) } == xq[32..<36].withUnsafeBytes {
                $0.loadUnaligned(as: Float.self)
            } * Float(q.reduce(Int32(0)) { $0 + Int32($1) }))
        #expect(Int8(bitPattern: xq[116 + 40 + 8]) == 127)  // 1e30 takes the top of its block
    }
}

extension MatvecKernelTests {
    /// The AVX2 activation quantizer writes the reference's bytes, including exact halves
    /// (round half away from zero), values just below a half, NaN and infinity.
    @Test(.enabled(if: KernelPath.fast, KernelPath.skipReason))
    func activationQuantizerEqualsReference() {
        var g = SeededGenerator(seed: 1592590342)
        let cols = 32 * 40
        var x = (0..<cols).map { i in Float.random(in: -3...3, using: &g) * (i % 61 == 0 ? 100 : 1) }
        // Block 1: max 127, so values land on exact halves and just below them.
        for i in 32..<64 { x[i] = Float(i - 48) + (i % 2 == 0 ? 0.5 : 0.49999997) }
        x[32] = 127
        x[70] = .nan
        x[100] = .infinity
        for i in 128..<160 { x[i] = 0 }
        let bytes = ck_q8act_bytes(cols)
        var fast = [UInt8](repeating: 0, count: bytes), reference = [UInt8](repeating: 1, count: bytes)
        fast.withUnsafeMutableBytes { ck_quantize_q8act(x, cols, $0.baseAddress) }
        reference.withUnsafeMutableBytes { ck_quantize_q8act_reference(x, cols, $0.baseAddress) }
        #expect(fast == reference)
    }
}
