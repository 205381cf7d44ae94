internal import CPlatform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock on a lock file (`flock`), released when the value is dropped. Two
/// hasskit processes downloading the same blob take turns instead of corrupting each other.
public final class FileLock {
    private let fd: Int32

    /// Blocks until the lock on `path` (created if needed) is held.
    public init(path: String) throws(SystemError) {
        let f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard f >= 0 else { throw SystemError(operation: "open lock", path: path, errno: errno) }
        while flock(f, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = errno
            close(f)
            throw SystemError(operation: "flock", path: path, errno: e)
        }
        fd = f
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Whether anyone holds the lock on `path` right now (asked without waiting or keeping it).
    public enum State: Sendable, Equatable { case free, held, missing }

    public static func attempt(path: String, create: Bool) -> State {
        let f = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0o644)
        guard f >= 0 else { return .missing }
        defer { close(f) }
        if flock(f, LOCK_EX | LOCK_NB) == 0 {
            flock(f, LOCK_UN)
            return .free
        }
        return .held
    }
}

/// A file written at arbitrary offsets by several threads (ranged downloads), `pwrite` based.
public final class RandomAccessFile: @unchecked Sendable {
    // pwrite/fsync on one descriptor are safe from several threads; the descriptor is immutable.
    private let fd: Int32
    public let path: String

    /// Opens (creating if needed) `path` for reading and writing.
    public init(path: String) throws(SystemError) {
        let f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard f >= 0 else { throw SystemError(operation: "open", path: path, errno: errno) }
        fd = f
        self.path = path
    }

    deinit { close(fd) }

    /// Current size in bytes.
    public func size() throws(SystemError) -> UInt64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError(operation: "fstat", path: path, errno: errno) }
        return UInt64(st.st_size)
    }

    /// Reserves `length` bytes on disk (`posix_fallocate`), so a full disk fails now, not midway.
    public func reserve(_ length: UInt64) throws(SystemError) {
        guard length > 0 else { return }
        let r = posix_fallocate(fd, 0, off_t(length))
        if r != 0 && r != EOPNOTSUPP && r != EINVAL {
            throw SystemError(operation: "reserve \(length) bytes", path: path, errno: r)
        }
        if r != 0, ftruncate(fd, off_t(length)) != 0 {
            throw SystemError(operation: "ftruncate", path: path, errno: errno)
        }
    }

    /// Sets the size exactly.
    public func truncate(_ length: UInt64) throws(SystemError) {
        guard ftruncate(fd, off_t(length)) == 0 else {
            throw SystemError(operation: "ftruncate", path: path, errno: errno)
        }
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(operation: "pwrite", path: path, errno: errno)
            }
            done += n
        }
    }

    /// Starts asynchronous writeback of a written range (Linux `sync_file_range`), so that the
    /// final `sync()` has little left to wait for.
    public func startWriteback(offset: UInt64, length: UInt64) {
        _ = cplatform_start_writeback(fd, Int64(offset), Int64(length))
    }

    public func sync() throws(SystemError) {
        guard fsync(fd) == 0 else { throw SystemError(operation: "fsync", path: path, errno: errno) }
    }
}
