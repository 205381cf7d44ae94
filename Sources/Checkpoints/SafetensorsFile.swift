import Platform
import StrictJSON

/// A validated, memory-mapped safetensors file.
///
/// Validation follows the reference implementation (`safetensors` `Metadata::validate`) and is
/// stricter where it is lax: the header is capped at 100 MB, must be UTF-8 JSON without duplicate
/// keys, offsets are parsed as integers, tensors must tile the data section exactly (no gap, no
/// overlap, nothing trailing) and each byte length must equal the dtype size × shape product.
public struct SafetensorsFile: Sendable {
    /// The reference library's header cap.
    public static let maxHeaderLength: UInt64 = 100_000_000

    public let path: String
    /// Tensors sorted by name.
    public let tensors: [Tensor]
    /// The `__metadata__` map.
    public let metadata: [String: String]
    /// Offset of the data section in the file (8 + header length).
    public let dataOffset: Int
    /// Bytes in the header JSON.
    public let headerLength: Int

    /// Maps and validates `path`.
    /// - Throws: `CheckpointError`.
    public init(path: String) throws(CheckpointError) {
        let storage: ByteStorage
        do {
            storage = try ByteStorage(mapping: path)
        } catch {
            throw CheckpointError(error)
        }
        try self.init(view: storage.view, path: path)
    }

    /// Validates a safetensors image held in `view`.
    public init(view: ByteView, path: String) throws(CheckpointError) {
        self.path = path
        func fail(_ code: CheckpointError.Code) -> CheckpointError { CheckpointError(code, path: path) }

        guard view.count >= 8, let n = view.u64(at: 0) else { throw fail(.fileTooSmall(size: view.count)) }
        guard n <= SafetensorsFile.maxHeaderLength else {
            throw fail(.headerTooLarge(bytes: n, limit: SafetensorsFile.maxHeaderLength))
        }
        let headerLength = Int(n)
        guard let header = view.bytes(start: 8, length: headerLength) else {
            throw fail(.headerBeyondFile(headerEnd: 8 + n, fileSize: view.count))
        }
        self.headerLength = headerLength
        let json: JSONValue
        do {
            json = try JSONParser(maxDepth: 16).parse(header)
        } catch {
            throw fail(.invalidHeader(error.description))
        }
        guard let members = json.objectMembers else { throw fail(.invalidHeader("the header JSON is not an object")) }

        dataOffset = 8 + headerLength
        guard let data = view.suffix(from: dataOffset) else {
            throw fail(.headerBeyondFile(headerEnd: 8 + n, fileSize: view.count))
        }

        var metadata: [String: String] = [:]
        struct Entry {
            var name: String
            var dtype: DType
            var shape: [Int]
            var begin: UInt64
            var end: UInt64
        }
        var entries: [Entry] = []
        entries.reserveCapacity(members.count)
        for (name, value) in members {
            if name == "__metadata__" {
                guard let m = value.objectMembers else { throw fail(.invalidHeader("__metadata__ is not an object")) }
                for (k, v) in m {
                    guard let s = v.stringValue else {
                        throw fail(.invalidHeader("__metadata__ value for \(quoted(k)) is not a string"))
                    }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value.objectMembers else {
                throw fail(.invalidHeader("entry \(quoted(name)) is not an object"))
            }
            var dtypeText: String?
            var shapeJSON: [JSONValue]?
            var offsetsJSON: [JSONValue]?
            for (k, v) in info {
                switch k {
                case "dtype": dtypeText = v.stringValue
                case "shape": shapeJSON = v.arrayValue
                case "data_offsets": offsetsJSON = v.arrayValue
                default: throw fail(.invalidHeader("entry \(quoted(name)) has the unknown field \(quoted(k))"))
                }
            }
            guard let dtypeText else { throw fail(.invalidHeader("entry \(quoted(name)) has no string dtype")) }
            guard let dtype = DType(rawValue: dtypeText) else { throw fail(.unknownDType(dtypeText)) }
            guard let shapeJSON else { throw fail(.invalidShape(tensor: name, detail: "missing or not an array")) }
            var shape: [Int] = []
            for d in shapeJSON {
                guard let u = d.uint64Value, let i = Int(exactly: u) else {
                    throw fail(
                        .invalidShape(tensor: name, detail: "dimension \(d.serialized()) is not a non-negative integer")
                    )
                }
                shape.append(i)
            }
            guard let offsetsJSON, offsetsJSON.count == 2 else {
                throw fail(
                    .invalidOffsets(
                        tensor: name,
                        detail:
                            "expected [BEGIN, END], found \(offsetsJSON.map { "\($0.count) elements" } ?? "no array")"))
            }
            guard let begin = offsetsJSON[0].uint64Value, let end = offsetsJSON[1].uint64Value else {
                throw fail(.invalidOffsets(tensor: name, detail: "offsets are not non-negative integers"))
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }

        // Walk tensors in buffer order: each must start where the previous ended.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var cursor: UInt64 = 0
        var tensors: [Tensor] = []
        tensors.reserveCapacity(entries.count)
        for e in entries {
            guard e.begin == cursor, e.end >= e.begin else {
                let detail =
                    e.end < e.begin
                    ? "END \(e.end) < BEGIN \(e.begin)"
                    : e.begin < cursor
                        ? "[\(e.begin), \(e.end)) overlaps the previous tensor, which ends at \(cursor)"
                        : "[\(e.begin), \(e.end)) leaves a gap after byte \(cursor)"
                throw fail(.invalidOffsets(tensor: e.name, detail: detail))
            }
            guard let count = elementCount(of: e.shape) else { throw fail(.sizeOverflow(tensor: e.name)) }
            let (bits, o) = count.multipliedReportingOverflow(by: UInt64(e.dtype.bitWidth))
            guard !o else { throw fail(.sizeOverflow(tensor: e.name)) }
            guard bits % 8 == 0 else { throw fail(.misalignedSubByte(tensor: e.name)) }
            guard e.end - e.begin == bits / 8 else {
                throw fail(.sizeMismatch(tensor: e.name, expected: bits / 8, found: e.end - e.begin))
            }
            guard e.end <= UInt64(data.count), let slice = data.slice(start: Int(e.begin), length: Int(e.end - e.begin))
            else {
                throw fail(.incompleteBuffer(covered: e.end, dataSize: UInt64(data.count)))
            }
            tensors.append(Tensor(name: e.name, dtype: e.dtype, shape: e.shape, file: path, layout: .contiguous(slice)))
            cursor = e.end
        }
        guard cursor == UInt64(data.count) else {
            throw fail(.incompleteBuffer(covered: cursor, dataSize: UInt64(data.count)))
        }
        self.tensors = tensors.sorted { $0.name < $1.name }
        self.metadata = metadata
    }
}
