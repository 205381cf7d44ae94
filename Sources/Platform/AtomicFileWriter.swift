internal import CPlatform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file under a temporary name beside its destination and renames it into place only
/// after everything was written and `fsync`ed, so no reader ever sees a half-written file under the
/// final name and an existing file (perhaps mapped by another process) stays intact until then.
///
/// A writer that is dropped without `commit()` removes its temporary file.
public final class AtomicFileWriter {
    /// The final path.
    public let path: String
    /// The temporary path the bytes go to until `commit()`.
    public let temporaryPath: String
    private var fd: Int32
    private var committed = false
    /// Bytes written so far.
    public private(set) var bytesWritten: UInt64 = 0
    /// Slot in the interrupt-cleanup table (the temporary file is unlinked on Ctrl-C).
    private var cleanupSlot: Int32 = -1

    /// Creates the temporary file `.<name>.partial-<pid>-<n>` in the destination folder.
    ///
    /// - Throws: `SystemError` when the temporary file cannot be created.
    public init(path: String) throws(SystemError) {
        self.path = path
        let (dir, name) = FileSystem.split(path)
        var attempt = 0
        while true {
            let candidate = "\(dir)/.\(name).partial-\(getpid())-\(attempt)"
            cplatform_install_interrupt_cleanup()
            var slot: Int32 = -1
            let f = cplatform_create_registered(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644, &slot)
            if f >= 0 {
                fd = f
                temporaryPath = candidate
                cleanupSlot = slot
                return
            }
            let e = errno
            guard e == EEXIST, attempt < 1000 else {
                throw SystemError(operation: "create temporary file", path: candidate, errno: e)
            }
            attempt += 1
        }
    }

    /// Removes temporary files that earlier writers of `path` left behind when their process died
    /// (killed, or stopped by a signal): `.NAME.partial-PID-N` whose PID no longer runs.
    public static func removeStalePartials(for path: String) {
        let (dir, name) = FileSystem.split(path)
        guard let entries = try? FileSystem.contents(of: dir) else { return }
        let prefix = ".\(name).partial-"
        for entry in entries where entry.hasPrefix(prefix) {
            let rest = entry.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                unlink(FileSystem.join(dir, entry))
            }
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporaryPath) }
        cplatform_unregister_temporary(cleanupSlot)
    }

    /// Appends `bytes`, retrying short writes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(operation: "write", path: temporaryPath, errno: errno)
            }
            p += n
            left -= n
            bytesWritten += UInt64(n)
        }
        startWritebackIfDue()
    }

    /// Bytes already handed to the kernel's writeback.
    private var writebackStarted: UInt64 = 0

    /// Starts asynchronous writeback of every complete 64 MiB written so far, so the final
    /// `fsync` has little left to wait for (the disk works while we compute).
    private func startWritebackIfDue() {
        let step: UInt64 = 64 << 20
        guard bytesWritten - writebackStarted >= step else { return }
        let end = bytesWritten / step * step
        _ = cplatform_start_writeback(fd, Int64(writebackStarted), Int64(end - writebackStarted))
        writebackStarted = end
    }

    /// Overwrites bytes already written, at `offset` (used to fill in a header whose checksums are
    /// known only after the data was streamed).
    public func overwrite(_ bytes: [UInt8], at offset: UInt64) throws(SystemError) {
        precondition(offset + UInt64(bytes.count) <= bytesWritten, "overwrite past the written end")
        let failure: SystemError? = bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return nil }
            var done = 0
            while done < raw.count {
                let n = pwrite(fd, base + done, raw.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return SystemError(operation: "pwrite", path: temporaryPath, errno: errno)
                }
                done += n
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Appends the bytes of an array.
    public func write(_ bytes: [UInt8]) throws(SystemError) {
        let failure: SystemError? = bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try write(raw) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Appends the bytes of a view.
    public func write(_ view: ByteView) throws(SystemError) {
        let failure: SystemError? = view.withUnsafeBytes { raw in
            do throws(SystemError) { try write(raw) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Appends `count` zero bytes (alignment padding).
    public func writeZeros(_ count: Int) throws(SystemError) {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    /// Flushes the data to disk, renames the file to its final name and syncs the folder.
    public func commit() throws(SystemError) {
        precondition(!committed, "commit() called twice")
        guard fsync(fd) == 0 else { throw SystemError(operation: "fsync", path: temporaryPath, errno: errno) }
        guard close(fd) == 0 else {
            fd = -1
            throw SystemError(operation: "close", path: temporaryPath, errno: errno)
        }
        fd = -1
        try FileSystem.commitRename(temporaryPath, to: path)
        committed = true
        cplatform_unregister_temporary(cleanupSlot)
        cleanupSlot = -1
    }
}
