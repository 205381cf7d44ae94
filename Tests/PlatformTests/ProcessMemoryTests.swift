import Foundation
import Platform
import Testing

/// A batched pass allocates a layer's arrays together and frees them together. With glibc's
/// defaults the freed heap top beyond twice the largest block is returned to the system, so the
/// next layer's arrays arrive as fresh pages (a page fault and a page of zeros each); after
/// `keepFreedMemoryForReuse` they are the same pages again.
@Suite struct ProcessMemoryTests {
    /// This thread's minor page faults so far (Linux's RUSAGE_THREAD, 1, which Glibc's module
    /// leaves out: other tests' threads do not count).
    static func faults() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)
        return usage.ru_minflt
    }

    /// Four 1 MiB arrays alive at once, filled, then all freed: one layer's pattern.
    static func layer() -> Float {
        let arrays = (0..<4).map { i in [Float](repeating: Float(i), count: 1 << 18) }
        return arrays.reduce(0) { $0 + $1[$1.count - 1] }
    }

    @Test func freedArraysComeBackWithoutFreshPages() throws {
        #if canImport(Glibc)
        #expect(ProcessMemory.keepFreedMemoryForReuse(), "glibc refused the allocator settings")
        var sum: Float = Self.layer()  // the first round takes its pages from the system
        let before = Self.faults()
        for _ in 0..<20 { sum += Self.layer() }
        let faults = Self.faults() - before
        #expect(sum > 0)
        // 20 rounds of 4 MiB with fresh pages would be about 20 000 faults.
        #expect(faults < 1000, "\(faults) page faults in 20 rounds: freed arrays came back as fresh pages")
        #endif
    }
}
