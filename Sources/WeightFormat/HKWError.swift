import Platform

/// Why a `.hkw` file could not be read or written.
public struct HKWError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case io(String)
        case notFound
        case badMagic
        case unsupportedVersion(UInt32)
        case truncated(expected: UInt64, found: UInt64)
        case invalidHeader(String)
        case invalidEntry(name: String, detail: String)
        case checksumMismatch(name: String, expected: String, found: String)
        case writer(String)
    }

    public var code: Code
    public var path: String

    public init(_ code: Code, path: String) {
        self.code = code
        self.path = path
    }

    init(_ e: SystemError) {
        self.init(e.isNotFound ? .notFound : .io(e.description), path: e.path)
    }

    public var description: String { "\(path): \(reason)" }

    public var reason: String {
        switch code {
        case let .io(m): return m
        case .notFound: return "no such file"
        case .badMagic: return "not a .hkw file (bad magic bytes)"
        case let .unsupportedVersion(v):
            return "format version \(v) is not supported (this hasskit reads version \(HKWFormat.version))"
        case let .truncated(e, f): return "file is \(f) bytes, its header describes \(e) (truncated or extended)"
        case let .invalidHeader(m): return "invalid header: \(m)"
        case let .invalidEntry(n, d): return "entry \"\(n.prefix(120))\": \(d)"
        case let .checksumMismatch(n, e, f): return "entry \"\(n.prefix(120))\": sha256 \(f), header records \(e)"
        case let .writer(m): return m
        }
    }
}
