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
    static let name = fast ? "avx2" : "reference"
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
        print("kernels: \(KernelPath.name) (CPU has AVX2/FMA/F16C: \(detected), HASSKIT_KERNELS=reference: \(forced))")
        #expect(KernelPath.fast == (detected && !forced))
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
