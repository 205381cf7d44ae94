internal import CPlatform

/// The process's allocator policy, set once by the command line before any work.
public enum ProcessMemory {
    /// Keeps freed heap memory for the next allocation instead of returning it to the system.
    ///
    /// A batched pass (prefill, tree verification) allocates and frees a few arrays of 0.1–3 MiB per
    /// layer. With glibc's defaults (blocks from 128 KiB up mapped on their own, the heap's free
    /// top trimmed beyond twice the largest block freed so far) most of them come back as fresh
    /// pages, each a page fault and a page of zeros: a third of the main thread's time in an
    /// 8-position pass of the 1.1 B model on two threads. Blocks below 32 MiB now come from the
    /// heap, which keeps up to 256 MiB of free top. Peak memory is unchanged (a block is kept only
    /// after it was in use); larger blocks, such as a long prompt's buffers, are still mapped on
    /// their own and returned when freed. Returns false where the C library is not glibc.
    @discardableResult
    public static func keepFreedMemoryForReuse() -> Bool {
        cplatform_keep_freed_memory(32 << 20, 256 << 20) == 1
    }
}
