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

    /// Resident set size of this process in bytes, from `/proc/self/statm` (0 where unavailable).
    public static func residentMemory() -> UInt64 {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var size: UInt = 0
        var resident: UInt = 0
        guard withUnsafeMutablePointer(to: &size, { s in
            withUnsafeMutablePointer(to: &resident) { r in fscanf_statm(f, s, r) }
        }) else { return 0 }
        return UInt64(resident) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func fscanf_statm(_ f: UnsafeMutablePointer<FILE>, _ s: UnsafeMutablePointer<UInt>, _ r: UnsafeMutablePointer<UInt>) -> Bool {
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, 256, f) != nil else { return false }
        let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let parts = text.split(separator: " ")
        guard parts.count >= 2, let a = UInt(parts[0]), let b = UInt(parts[1]) else { return false }
        s.pointee = a
        r.pointee = b
        return true
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
