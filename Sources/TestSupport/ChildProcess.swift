import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program as a child and reports its exit status and its own peak resident set
/// (`ru_maxrss` from `wait4` for that child alone, not for the test process or its other children).
public enum ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var peakRSSBytes: UInt64
    }

    public static func runMeasuringPeakRSS(_ executable: String, _ arguments: [String]) throws -> Result {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Quiet: the child's output is not needed, only its exit status and memory.
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EINVAL) }
        }
        let exited = status & 0x7F == 0
        return Result(
            status: exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), peakRSSBytes: UInt64(usage.ru_maxrss) * 1024)
    }
}
