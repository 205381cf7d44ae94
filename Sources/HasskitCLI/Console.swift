#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where output goes: results to stdout, everything else (progress, logs, errors) to stderr.
enum Console {
    static func out(_ line: String) {
        print(line)
    }

    static func error(_ line: String) {
        writeStderr("hasskit: \(line)\n")
    }

    static func log(_ line: String) {
        writeStderr("\(line)\n")
    }

    /// Writes to file descriptor 2 directly: the C `stderr` global is shared mutable state that
    /// Swift 6 will not touch from concurrent code.
    private static func writeStderr(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(2, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { break }
                off += n
            }
        }
    }

    /// True when stdout is a terminal (progress bars and colours only then).
    static var stdoutIsTTY: Bool { isatty(1) != 0 }
}
