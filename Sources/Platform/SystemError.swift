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

    /// True when a file that was to be read does not exist (or a folder on its path is a file).
    /// A write that fails for these reasons (a folder that cannot be made because a file stands in
    /// its place) is an I/O failure, not a missing input.
    public var isNotFound: Bool {
        (errno == ENOENT || errno == ENOTDIR) && ["open", "stat", "opendir", "fstat", "mmap"].contains(operation)
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return "\(path): \(operation) failed: \(reason) (errno \(errno))"
    }
}

/// An error that wraps the error that caused it; `hasskit --verbose` prints the chain.
public protocol ErrorWithCause: Error {
    var cause: (any Error)? { get }
}
