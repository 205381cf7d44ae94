#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call, with the call's name, the path it acted on and `errno`.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The system call or operation that failed (`open`, `mmap`, `rename`, …).
    public var operation: String
    /// The file the operation acted on.
    public var path: String
    /// The `errno` value reported by the call.
    public var errno: Int32

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// True when the file or a folder on its path does not exist.
    public var isNotFound: Bool { errno == ENOENT || errno == ENOTDIR }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return "\(path): \(operation) failed: \(reason) (errno \(errno))"
    }
}
