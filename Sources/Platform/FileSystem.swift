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

    /// A `kB` field of /proc/self/status, in bytes.
    private static func procStatus(_ field: String) -> UInt64 {
        guard let f = fopen("/proc/self/status", "r") else { return 0 }
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
