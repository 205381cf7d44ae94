import Platform
import StrictJSON

/// Why a checkpoint was refused: what is wrong, in which file, and where.
///
/// `description` is the one line the CLI prints; every code carries what was expected and what
/// was found when that is known.
public struct CheckpointError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        // Files and detection
        case io(String)
        case notFound
        case unrecognizedFormat(String)
        // safetensors
        case fileTooSmall(size: Int)
        case headerTooLarge(bytes: UInt64, limit: UInt64)
        case headerBeyondFile(headerEnd: UInt64, fileSize: Int)
        case invalidHeader(String)
        case unknownDType(String)
        case invalidShape(tensor: String, detail: String)
        case invalidOffsets(tensor: String, detail: String)
        case sizeMismatch(tensor: String, expected: UInt64, found: UInt64)
        case sizeOverflow(tensor: String)
        case misalignedSubByte(tensor: String)
        case incompleteBuffer(covered: UInt64, dataSize: UInt64)
        case badTensorName(String)
        // sharded index
        case invalidIndex(String)
        case unsafeShardPath(String)
        case missingShard(String)
        case shardMismatch(tensor: String, detail: String)
        // zip / pickle
        case invalidZip(String)
        case unsafeMemberName(String)
        case compressedRecord(String)
        case duplicateMember(String)
        case missingRecord(String)
        case pickle(offset: Int, detail: String)
        case forbiddenGlobal(String)
        case forbiddenOpcode(name: String, offset: Int)
        case limitExceeded(String)
        case notAStateDict(String)
        case storage(String)
        case tensorOutOfBounds(tensor: String, detail: String)
        // fp8
        case fp8(tensor: String, detail: String)
    }

    public var code: Code
    /// The file the problem was found in.
    public var path: String

    public init(_ code: Code, path: String) {
        self.code = code
        self.path = path
    }

    public var description: String { "\(path): \(reason)" }

    /// The reason without the path.
    public var reason: String {
        switch code {
        case let .io(m): return m
        case .notFound: return "no such file or folder"
        case let .unrecognizedFormat(m): return "not a recognised checkpoint: \(m)"
        case let .fileTooSmall(size):
            return "file is \(size) bytes, a safetensors file needs at least 8 (header too small)"
        case let .headerTooLarge(bytes, limit):
            return "header length \(bytes) exceeds the \(limit)-byte limit (header too large)"
        case let .headerBeyondFile(end, size):
            return "header ends at byte \(end) but the file has \(size) bytes (invalid header length)"
        case let .invalidHeader(m): return "invalid header: \(m)"
        case let .unknownDType(d): return "unknown dtype \"\(d.prefix(40))\""
        case let .invalidShape(t, d): return "tensor \(quoted(t)): invalid shape: \(d)"
        case let .invalidOffsets(t, d): return "tensor \(quoted(t)): invalid data_offsets: \(d)"
        case let .sizeMismatch(t, e, f):
            return "tensor \(quoted(t)): dtype and shape need \(e) bytes, data_offsets give \(f)"
        case let .sizeOverflow(t): return "tensor \(quoted(t)): shape × dtype size overflows 64 bits"
        case let .misalignedSubByte(t):
            return "tensor \(quoted(t)): sub-byte dtype with an element count that does not end on a byte boundary"
        case let .incompleteBuffer(c, d):
            return "tensors cover \(c) bytes of a \(d)-byte data section (truncated file or trailing bytes)"
        case let .badTensorName(m): return "bad tensor name: \(m)"
        case let .invalidIndex(m): return "invalid index: \(m)"
        case let .unsafeShardPath(p):
            return "weight_map names an unsafe shard path \(quoted(p)) (must be a plain relative file name)"
        case let .missingShard(p): return "shard \(quoted(p)) listed in weight_map does not exist"
        case let .shardMismatch(t, d): return "tensor \(quoted(t)): \(d)"
        case let .invalidZip(m): return "invalid zip archive: \(m)"
        case let .unsafeMemberName(n): return "unsafe archive member name \(quoted(n))"
        case let .compressedRecord(n):
            return "archive record \(quoted(n)) is compressed; only stored (uncompressed) records can be mapped"
        case let .duplicateMember(n): return "archive holds two members named \(quoted(n))"
        case let .missingRecord(n): return "archive has no record \(quoted(n))"
        case let .pickle(o, d): return "pickle at byte \(o): \(d)"
        case let .forbiddenGlobal(g):
            return "pickle references the global \(g), which is not on the allow-list of a weights-only load"
        case let .forbiddenOpcode(n, o):
            return "pickle uses the opcode \(n) at byte \(o), which a weights-only load does not allow"
        case let .limitExceeded(m): return "limit exceeded: \(m)"
        case let .notAStateDict(m): return "not a state dict: \(m)"
        case let .storage(m): return "storage: \(m)"
        case let .tensorOutOfBounds(t, d): return "tensor \(quoted(t)): \(d)"
        case let .fp8(t, d): return "FP8 tensor \(quoted(t)): \(d)"
        }
    }
}

func quoted(_ s: String) -> String {
    var out = ""
    JSONValue.writeString(String(s.prefix(120)) + (s.count > 120 ? "…" : ""), into: &out)
    return out
}

extension CheckpointError {
    init(_ error: SystemError) {
        self.init(error.isNotFound ? .notFound : .io(error.description), path: error.path)
    }
}
