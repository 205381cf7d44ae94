import Platform

/// A GGUF file (versions 2 and 3), read strictly: every length and count is checked against
/// the bytes that remain before anything is allocated, tensor extents are overflow-checked,
/// aligned, inside the data section and not overlapping. Anything else is a `CheckpointError`
/// naming the byte offset.
///
/// Layout (little-endian): `GGUF`, u32 version, u64 tensor count, u64 metadata count, the
/// metadata (key string, u32 type, value), the tensor infos (name, u32 dims, u64 × dims with the
/// innermost first, u32 ggml type, u64 offset into the data section), then the data section at
/// the next multiple of `general.alignment` (32 by default).
public struct GGUFFile: Sendable {
    public indirect enum Value: Sendable, Equatable {
        case uint(UInt64)
        case int(Int64)
        case float(Double)
        case bool(Bool)
        case string(String)
        case array([Value])

        public var intValue: Int? {
            switch self {
            case let .uint(u): return u <= UInt64(Int.max) ? Int(u) : nil
            case let .int(i): return Int(exactly: i)
            default: return nil
            }
        }
        public var doubleValue: Double? {
            switch self {
            case let .float(d): return d
            case let .uint(u): return Double(u)
            case let .int(i): return Double(i)
            default: return nil
            }
        }
        public var stringValue: String? {
            if case let .string(s) = self { return s }
            return nil
        }
        public var boolValue: Bool? {
            if case let .bool(b) = self { return b }
            return nil
        }
        public var arrayValue: [Value]? {
            if case let .array(a) = self { return a }
            return nil
        }
    }

    public struct TensorInfo: Sendable {
        public var name: String
        /// HF order: outermost first (GGUF stores the innermost first).
        public var shape: [Int]
        public var type: GGMLType
        /// Absolute byte range in the file.
        public var range: Range<Int>
    }

    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(String, Value)]
    public let tensors: [TensorInfo]
    public let alignment: Int
    public let dataOffset: Int

    public func value(_ key: String) -> Value? { metadata.first { $0.0 == key }?.1 }

    /// Limits that keep a hostile header from allocating without bound.
    static let maxTensors = 1 << 20
    static let maxDims = 4

    public init(view: ByteView, path: String) throws(CheckpointError) {
        var r = Reader(view: view, path: path)
        guard view.hasBytes(Array("GGUF".utf8)) else {
            throw CheckpointError(.unrecognizedFormat("not a GGUF file (no GGUF magic)"), path: path)
        }
        r.offset = 4
        version = try r.u32()
        guard version == 2 || version == 3 else {
            throw CheckpointError(.invalidHeader("GGUF version \(version) (hasskit reads 2 and 3)"), path: path)
        }
        let tensorCount = try r.u64()
        let kvCount = try r.u64()
        guard tensorCount <= UInt64(Self.maxTensors) else {
            throw CheckpointError(.limitExceeded("\(tensorCount) tensors (limit \(Self.maxTensors))"), path: path)
        }
        // Each entry needs at least 12 bytes; a count the file cannot hold is refused before looping.
        guard kvCount <= UInt64(view.count / 12) else {
            throw CheckpointError(
                .invalidHeader("\(kvCount) metadata entries cannot fit in \(view.count) bytes"), path: path)
        }
        var metadata: [(String, Value)] = []
        var seen = Set<String>()
        for _ in 0..<kvCount {
            let at = r.offset
            let key = try r.string()
            guard seen.insert(key).inserted else {
                throw CheckpointError(.invalidHeader("metadata key \(key) appears twice (byte \(at))"), path: path)
            }
            let type = try r.u32()
            metadata.append((key, try r.value(type: type, depth: 0)))
        }
        self.metadata = metadata
        var alignment = 32
        if let a = metadata.first(where: { $0.0 == "general.alignment" })?.1 {
            guard let n = a.intValue, n > 0, n <= 1 << 20, n & (n - 1) == 0 else {
                throw CheckpointError(
                    .invalidHeader("general.alignment \(a) is not a power of two ≤ 1 MiB"), path: path)
            }
            alignment = n
        }
        self.alignment = alignment
        var infos: [(name: String, shape: [Int], type: GGMLType, offset: UInt64, at: Int)] = []
        var names = Set<String>()
        for _ in 0..<tensorCount {
            let at = r.offset
            let name = try r.string()
            guard !name.isEmpty, names.insert(name).inserted else {
                throw CheckpointError(
                    .badTensorName("tensor name \(name.debugDescription) is empty or repeated (byte \(at))"), path: path
                )
            }
            let dims = try r.u32()
            guard dims >= 1, dims <= UInt32(Self.maxDims) else {
                throw CheckpointError(
                    .invalidShape(tensor: name, detail: "\(dims) dimensions (1…\(Self.maxDims))"), path: path)
            }
            var ne: [Int] = []
            for _ in 0..<dims {
                let d = try r.u64()
                guard d > 0, d <= UInt64(Int32.max) else {
                    throw CheckpointError(.invalidShape(tensor: name, detail: "dimension \(d)"), path: path)
                }
                ne.append(Int(d))
            }
            let rawType = try r.u32()
            guard let type = GGMLType(rawValue: rawType) else {
                throw CheckpointError(.unknownDType("ggml type \(rawType) of \(name)"), path: path)
            }
            let offset = try r.u64()
            guard ne[0] % type.blockElements == 0 else {
                throw CheckpointError(
                    .invalidShape(
                        tensor: name,
                        detail: "rows of \(ne[0]) are not a whole number of \(type) blocks of \(type.blockElements)"),
                    path: path)
            }
            infos.append((name, Array(ne.reversed()), type, offset, at))
        }
        let dataOffset = (r.offset + alignment - 1) / alignment * alignment
        guard dataOffset <= view.count else {
            throw CheckpointError(.headerBeyondFile(headerEnd: UInt64(dataOffset), fileSize: view.count), path: path)
        }
        self.dataOffset = dataOffset
        var tensors: [TensorInfo] = []
        for info in infos {
            guard let elements = elementCount(of: info.shape),
                let bytes = info.type.byteCount(elements: elements),
                info.offset % UInt64(alignment) == 0,
                case let (start, o1) = UInt64(dataOffset).addingReportingOverflow(info.offset), !o1,
                case let (end, o2) = start.addingReportingOverflow(bytes), !o2, end <= UInt64(view.count)
            else {
                throw CheckpointError(
                    .invalidOffsets(
                        tensor: info.name,
                        detail:
                            "offset \(info.offset) (aligned to \(alignment)?) and size do not fit in the data section of \(view.count - dataOffset) bytes"
                    ),
                    path: path)
            }
            tensors.append(
                TensorInfo(name: info.name, shape: info.shape, type: info.type, range: Int(start)..<Int(end)))
        }
        let sorted = tensors.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.range.upperBound > b.range.lowerBound {
            throw CheckpointError(
                .invalidOffsets(tensor: b.name, detail: "overlaps \(a.name) (bytes \(b.range) and \(a.range))"),
                path: path)
        }
        self.tensors = tensors
    }

    struct Reader {
        let view: ByteView
        let path: String
        var offset = 0

        func fail(_ what: String) -> CheckpointError {
            CheckpointError(.invalidHeader("\(what) at byte \(offset) runs past the end of the file"), path: path)
        }

        mutating func load<T: FixedWidthInteger>(_: T.Type) throws(CheckpointError) -> T {
            guard let v = view.load(littleEndian: T.self, at: offset) else { throw fail("a \(T.self)") }
            offset += MemoryLayout<T>.size
            return v
        }

        mutating func u32() throws(CheckpointError) -> UInt32 { try load(UInt32.self) }
        mutating func u64() throws(CheckpointError) -> UInt64 { try load(UInt64.self) }

        mutating func string() throws(CheckpointError) -> String {
            let n = try u64()
            guard n <= UInt64(view.count - offset), let bytes = view.bytes(start: offset, length: Int(n)) else {
                throw fail("a string of \(n) bytes")
            }
            guard let s = String(validating: bytes, as: UTF8.self) else {
                throw CheckpointError(.invalidHeader("a string at byte \(offset) is not UTF-8"), path: path)
            }
            offset += Int(n)
            return s
        }

        mutating func value(type: UInt32, depth: Int) throws(CheckpointError) -> Value {
            switch type {
            case 0: return .uint(UInt64(try load(UInt8.self)))
            case 1: return .int(Int64(try load(Int8.self)))
            case 2: return .uint(UInt64(try load(UInt16.self)))
            case 3: return .int(Int64(try load(Int16.self)))
            case 4: return .uint(UInt64(try load(UInt32.self)))
            case 5: return .int(Int64(try load(Int32.self)))
            case 6: return .float(Double(Float(bitPattern: try load(UInt32.self))))
            case 7:
                let b = try load(UInt8.self)
                guard b <= 1 else {
                    throw CheckpointError(.invalidHeader("a bool of \(b) at byte \(offset - 1)"), path: path)
                }
                return .bool(b == 1)
            case 8: return .string(try string())
            case 9:
                guard depth == 0 else {
                    throw CheckpointError(.invalidHeader("an array inside an array at byte \(offset)"), path: path)
                }
                let elementType = try u32()
                let count = try u64()
                // The smallest element is one byte; a count the file cannot hold is refused now.
                guard count <= UInt64(view.count - offset) else { throw fail("an array of \(count) elements") }
                var items: [Value] = []
                items.reserveCapacity(Int(min(count, 1 << 20)))
                for _ in 0..<count { items.append(try value(type: elementType, depth: depth + 1)) }
                return .array(items)
            case 10: return .uint(try load(UInt64.self))
            case 11: return .int(try load(Int64.self))
            case 12: return .float(Double(bitPattern: try load(UInt64.self)))
            default:
                throw CheckpointError(.invalidHeader("metadata value type \(type) at byte \(offset - 4)"), path: path)
            }
        }
    }
}

/// ggml's tensor types that GGUF files carry and hasskit reads.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q2_k = 10
    case q3_k = 11
    case q4_k = 12
    case q5_k = 13
    case q6_k = 14
    case bf16 = 30

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q2_k: return "Q2_K"
        case .q3_k: return "Q3_K"
        case .q4_k: return "Q4_K"
        case .q5_k: return "Q5_K"
        case .q6_k: return "Q6_K"
        }
    }

    /// Elements per block (1 for the plain float types).
    public var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q2_k, .q3_k, .q4_k, .q5_k, .q6_k: return 256
        }
    }

    /// Bytes per block (ggml's `block_*` structs).
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q2_k: return 84
        case .q3_k: return 110
        case .q4_k: return 144
        case .q5_k: return 176
        case .q6_k: return 210
        }
    }

    /// Bytes of `elements` values (whole blocks), nil on overflow or a partial block.
    public func byteCount(elements: UInt64) -> UInt64? {
        guard elements % UInt64(blockElements) == 0 else { return nil }
        let (n, o) = (elements / UInt64(blockElements)).multipliedReportingOverflow(by: UInt64(blockBytes))
        return o ? nil : n
    }
}
