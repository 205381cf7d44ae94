import Foundation
import CKernels
import Quantization
import Testing

/// Whether this process runs the AVX2 kernels. Where it does not (a CPU without AVX2, FMA and
/// F16C, or HASSKIT_KERNELS=reference), a "fast equals reference" test would compare the
/// reference with itself: those tests are skipped with this reason instead of passing silently.
enum KernelPath {
    static let need = UInt32(CK_CPU_AVX2) | UInt32(CK_CPU_FMA) | UInt32(CK_CPU_F16C)
    static let fast = ck_cpu_features() & need == need
    /// The path the interleaved products take in this run.
    static let name = pathName(ck_q8act_path(QuantType.q4_0_r8.kernelType!))
    /// The SIMD paths a test compares with the reference (each skipped, saying so, where the CPU
    /// lacks it). "avx-vnni (evex)" is the AVX-VNNI kernels' source in the AVX512-VL encoding: on
    /// an AVX-512 CPU without AVX-VNNI it is how their arithmetic gets tested.
    static let fastPaths: [(name: String, code: Int32)] = [
        ("avx2", Int32(CK_PATH_AVX2)), ("avx512-vnni", Int32(CK_PATH_AVX512_VNNI)),
        ("avx-vnni", Int32(CK_PATH_AVX_VNNI)), ("avx-vnni (evex)", Int32(CK_PATH_AVX_VNNI_EVEX)),
    ]

    /// The product of rows [begin, end) of `w` (a `type` matrix of `cols` columns) with the n
    /// quantized inputs of `xq`, on every SIMD path this CPU has: each path's result for the batch
    /// and for each input alone (out rows × n, NaN outside the range). Paths the CPU lacks are
    /// left out, with a line saying so.
    static func everyPath(
        type: Int32, w: [UInt8], cols: Int, rows: Int, begin: Int, end: Int, xq: [UInt8], n: Int
    ) -> [(name: String, batch: [Float], single: [Float])] {
        var results: [(name: String, batch: [Float], single: [Float])] = []
        for path in fastPaths {
            var batch = [Float](repeating: .nan, count: n * rows), single = batch
            let ran = w.withUnsafeBytes { wp in
                xq.withUnsafeBytes { xp in
                    let ran = ck_matmul_rows_q8act_path(
                        path.code, type, wp.baseAddress, cols, begin, end, xp.baseAddress, n, &batch, rows)
                    for i in 0..<n {
                        single.withUnsafeMutableBufferPointer { s in
                            _ = ck_matmul_rows_q8act_path(
                                path.code, type, wp.baseAddress, cols, begin, end,
                                xp.baseAddress! + i * ck_q8act_bytes(cols), 1, s.baseAddress! + i * rows, rows)
                        }
                    }
                    return ran
                }
            }
            guard ran == 1 else {
                print("this CPU has no \(path.name) path for kernel type \(type); \(name) is tested")
                continue
            }
            results.append((path.name, batch, single))
        }
        return results
    }

    static func pathName(_ code: Int32) -> String {
        fastPaths.first { $0.code == code }?.name ?? "reference"
    }
    static let skipReason: Comment =
        ck_cpu_features_detected() & need == need
        ? "HASSKIT_KERNELS=reference: the fast kernels are off in this run, so there is nothing to compare with the reference"
        : "this CPU lacks AVX2/FMA/F16C: the fast kernels fall back to the reference, so there is nothing to compare"
}

@Suite struct KernelPathTests {
    /// Names the path this run's kernels take (it appears in the test log), and checks that it
    /// follows the CPU and HASSKIT_KERNELS.
    @Test func thePathThatRunsIsNamed() {
        let detected = ck_cpu_features_detected() & KernelPath.need == KernelPath.need
        let forced = ProcessInfo.processInfo.environment["HASSKIT_KERNELS"] == "reference"
        let vnni =
            UInt32(CK_CPU_AVX512F) | UInt32(CK_CPU_AVX512BW) | UInt32(CK_CPU_AVX512VL) | UInt32(CK_CPU_AVX512VNNI)
        let hasVNNI = ck_cpu_features_detected() & vnni == vnni
        let hasAVXVNNI = ck_cpu_features_detected() & UInt32(CK_CPU_AVXVNNI) != 0
        print(
            "kernels: \(KernelPath.name) (CPU has AVX2/FMA/F16C: \(detected), AVX-512 VNNI: \(hasVNNI), AVX-VNNI: \(hasAVXVNNI), HASSKIT_KERNELS=reference: \(forced))"
        )
        #expect(KernelPath.fast == (detected && !forced))
        let expected =
            forced || !detected ? "reference" : hasVNNI ? "avx512-vnni" : hasAVXVNNI ? "avx-vnni" : "avx2"
        #expect(KernelPath.name == expected)
    }

    /// A K-quant's single input takes the 256-bit VNNI kernels on an AVX-512 CPU on one thread
    /// (they streamed faster there), and on two where the matrix has at most 2048 columns (which
    /// they read as one stream); batches, wider matrices on two threads and the 32-column types
    /// keep the CPU's fastest path.
    @Test func aSingleKQuantInputTakesThe256BitKernelsWhereTheyStreamFaster() {
        #expect(CK_SINGLE_STREAM_MAX_COLS == 2048)
        for type in [QuantType.q4_k_r8, .q6_k_r8, .q4_0_r8, .q8_0_r8] {
            let fastest = Kernels.path(for: type)
            let kQuant = type == .q4_k_r8 || type == .q6_k_r8
            let single = kQuant && fastest == "avx512-vnni" ? "avx-vnni (evex)" : fastest
            for cols in [2048, 2304, 5632] {
                #expect(Kernels.q8Path(type, cols: cols, inputs: 8, threads: 1).name == fastest, "\(type)")
                #expect(Kernels.q8Path(type, cols: cols, inputs: 8, threads: 2).name == fastest, "\(type)")
                #expect(Kernels.q8Path(type, cols: cols, inputs: 1, threads: 1).name == single, "\(type)")
                let twoThreads = cols <= 2048 ? single : fastest
                #expect(Kernels.q8Path(type, cols: cols, inputs: 1, threads: 2).name == twoThreads, "\(type) \(cols)")
            }
        }
        if KernelPath.name != "avx512-vnni" {
            print("this run's kernels are \(KernelPath.name): single inputs keep that path (checked)")
        }
    }
}

/// The block layouts are defined once, as C structs with static size checks (CKernels.h); Swift's
/// table of storage types must agree with them.
@Suite struct BlockLayoutTests {
    @Test(arguments: QuantType.allCases.filter { $0.kernelType != nil })
    func swiftBlockSizesEqualTheCStructs(_ type: QuantType) throws {
        let kernel = try #require(type.kernelType)
        #expect(type.bytesPerBlock == ck_block_bytes(kernel), "\(type.rawValue)")
        #expect(ck_row_bytes(kernel, 512) == type.bytesPerBlock * 512 / type.blockSize, "\(type.rawValue)")
    }
}
