#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes that many views share: a file mapping or a heap buffer.
///
/// The storage is immutable after `init`; the mapping is `PROT_READ` and is released in `deinit`,
/// which is why the `@unchecked Sendable` conformance is sound: no thread can observe a mutation.
public final class ByteStorage: @unchecked Sendable {
    private let base: UnsafeRawPointer?
    /// Number of bytes in the storage.
    public let count: Int
    private let isMapping: Bool
    /// The file the storage maps, or a label for heap storage.
    public let label: String

    /// Maps `path` read-only (`mmap(PROT_READ, MAP_PRIVATE)`); an empty file gives empty storage.
    ///
    /// - Throws: `SystemError` when the file cannot be opened, inspected or mapped.
    public init(mapping path: String) throws(SystemError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError(operation: "fstat", path: path, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw SystemError(operation: "map (not a regular file)", path: path, errno: EINVAL)
        }
        let size = Int(st.st_size)
        label = path
        count = size
        isMapping = size > 0
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw SystemError(operation: "mmap", path: path, errno: errno) }
        base = UnsafeRawPointer(p)
    }

    /// Copies `bytes` into heap storage (for materialised tensors and in-memory tests).
    public init(copying bytes: some Collection<UInt8>, label: String = "<memory>") {
        let n = bytes.count
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(n, 1), alignment: 64)
        _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
        base = UnsafeRawPointer(buffer.baseAddress)
        count = n
        isMapping = false
        self.label = label
    }

    /// Takes ownership of an initialised buffer allocated with `UnsafeMutableRawBufferPointer.allocate`.
    init(adopting buffer: UnsafeMutableRawBufferPointer, count: Int, label: String) {
        base = UnsafeRawPointer(buffer.baseAddress)
        self.count = count
        isMapping = false
        self.label = label
    }

    /// Allocates `count` bytes, lets `body` fill them, and wraps them as storage.
    public static func build(
        count: Int, label: String = "<memory>", _ body: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows -> ByteStorage {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        do {
            try body(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
        } catch {
            buffer.deallocate()
            throw error
        }
        return ByteStorage(adopting: buffer, count: count, label: label)
    }

    deinit {
        guard let base else { return }
        if isMapping {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    /// Whole storage as a view.
    public var view: ByteView { ByteView(storage: self, offset: 0, count: count) }

    func withUnsafeBytes<R>(offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(offset >= 0 && count >= 0 && offset <= self.count && count <= self.count - offset)
        guard let base else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: base + offset, count: count))
    }

    func releasePages(offset: Int, count: Int) {
        guard isMapping, let base, count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + offset + page - 1) / page * page
        let end = (Int(bitPattern: base) + offset + count) / page * page
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, MADV_DONTNEED)
    }

    /// Advises the kernel how the mapped range will be read (`madvise`); a no-op on heap storage.
    public func advise(sequential: Bool) {
        guard isMapping, let base else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), count, sequential ? MADV_SEQUENTIAL : MADV_RANDOM)
    }
}
