#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-system queries the rest of hasskit needs, as plain functions over paths.
public enum FileSystem {
    /// What a path names.
    public enum Kind: Sendable, Equatable { case missing, file, directory, other }

    /// The kind of `path`, following symbolic links (the HF cache stores snapshots as links).
    public static func kind(of path: String) -> Kind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// Size in bytes of a regular file.
    public static func size(of path: String) throws(SystemError) -> UInt64 {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SystemError(operation: "stat", path: path, errno: errno) }
        return UInt64(st.st_size)
    }

    /// Free space on the file system that `path` is or would be created on: that of the nearest
    /// folder above it that exists. nil when none can be asked.
    public static func availableSpaceOfNearestFolder(_ path: String) -> UInt64? {
        var p = path
        while !p.isEmpty {
            if kind(of: p) == .directory { return try? availableSpace(at: p) }
            let parent = split(p).directory
            if parent == p { break }
            p = parent
        }
        return try? availableSpace(at: "/")
    }

    /// Modification time of a file (following links) in nanoseconds since the epoch.
    public static func modificationTime(of path: String) throws(SystemError) -> Int64 {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SystemError(operation: "stat", path: path, errno: errno) }
        return Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }

    /// Names of the entries in a folder (without `.` and `..`), sorted.
    public static func contents(of path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError(operation: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Bytes available to an unprivileged user on the file system holding `path` (`statvfs`).
    public static func availableSpace(at path: String) throws(SystemError) -> UInt64 {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { throw SystemError(operation: "statvfs", path: path, errno: errno) }
        return UInt64(s.f_bavail) * UInt64(s.f_frsize)
    }

    /// Resident set size of this process in bytes (`VmRSS`; 0 where /proc is unavailable).
    public static func residentMemory() -> UInt64 { procStatus("VmRSS:") }

    /// Peak resident set size of this process in bytes (`VmHWM`; 0 where /proc is unavailable).
    public static func peakResidentMemory() -> UInt64 { procStatus("VmHWM:") }

    /// The machine's memory in bytes: `total` (MemTotal) and `available` (MemAvailable: free
    /// memory plus the page cache and buffers the kernel can reclaim, which includes a model's
    /// pages cached from an earlier run); `HASSKIT_MEMORY_BYTES` overrides both (tests, or a
    /// cgroup limit /proc/meminfo does not show). Nil where neither is known.
    public static func machineMemory() -> (total: UInt64, available: UInt64)? {
        if let raw = getenv("HASSKIT_MEMORY_BYTES"), let bytes = UInt64(String(cString: raw)) {
            return (bytes, bytes)
        }
        let total = procField("/proc/meminfo", "MemTotal:"), available = procField("/proc/meminfo", "MemAvailable:")
        guard total > 0 else { return nil }
        return (total, available > 0 ? available : total)
    }

    /// A `kB` field of /proc/self/status, in bytes.
    private static func procStatus(_ field: String) -> UInt64 { procField("/proc/self/status", field) }

    /// A `kB` field of a /proc file, in bytes (0 when absent).
    private static func procField(_ path: String, _ field: String) -> UInt64 {
        guard let f = fopen(path, "r") else { return 0 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix(field) else { continue }
            let digits = text.dropFirst(field.count).filter(\.isNumber)
            return (UInt64(digits) ?? 0) * 1024
        }
        return 0
    }

    /// Splits a path into its folder (`.` when none) and last component.
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// Joins a folder and a relative name.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The target of a symbolic link, or nil when `path` is not one.
    public static func symlinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The last step of every atomic write: renames a finished (already fsynced) file to its final
    /// name, then fsyncs the folder so the new name itself survives a power loss. One routine for
    /// `AtomicFileWriter` and the downloader's blobs.
    public static func commitRename(_ temporary: String, to final: String, syncFolder: Bool = true) throws(SystemError)
    {
        guard rename(temporary, final) == 0 else {
            throw SystemError(operation: "rename to \(final)", path: temporary, errno: errno)
        }
        guard syncFolder else { return }
        let dfd = open(split(final).directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Creates a folder and every missing folder above it (`mkdir -p`). A path component that
    /// exists as a file, a read-only file system or a missing permission throws a `SystemError`
    /// naming the folder it could not create.
    public static func createDirectory(_ path: String) throws(SystemError) {
        guard !path.isEmpty else { throw SystemError(operation: "mkdir", path: path, errno: ENOENT) }
        if kind(of: path) == .directory { return }
        // Each folder from the top down; a file standing where a folder must be is reported for
        // the folder that was asked for ("…/file/hub: Not a directory"), not as "File exists".
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if component == "." || kind(of: prefix) == .directory { continue }
            guard mkdir(prefix, 0o755) == 0 || (errno == EEXIST && kind(of: prefix) == .directory) else {
                let e = errno == EEXIST ? ENOTDIR : errno
                throw SystemError(operation: "mkdir", path: path, errno: e)
            }
        }
    }

    /// Creates a symbolic link at `path` whose text is `target`.
    public static func createSymbolicLink(_ path: String, target: String) throws(SystemError) {
        guard symlink(target, path) == 0 else { throw SystemError(operation: "symlink", path: path, errno: errno) }
    }

    /// Copies a regular file's bytes to a new file at `destination` (written under a temporary
    /// name and renamed, as every write is).
    public static func copyFile(_ source: String, to destination: String) throws(SystemError) {
        let view = try ByteStorage(mapping: source).view
        let w = try AtomicFileWriter(path: destination)
        try w.write(view)
        try w.commit()
    }

    /// Removes a file if it exists.
    public static func removeFile(_ path: String) throws(SystemError) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw SystemError(operation: "unlink", path: path, errno: errno)
        }
    }

    /// Reads a whole (small) file into memory.
    public static func readFile(_ path: String) throws(SystemError) -> [UInt8] {
        let storage = try ByteStorage(mapping: path)
        return storage.view.array
    }
}
