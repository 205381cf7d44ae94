import Platform
import StrictJSON

/// Writes a safetensors file the way the reference library lays it out (an 8-byte header length,
/// the JSON header padded with spaces to a multiple of 8, the tensors back to back in the order
/// given), streaming: the header is planned from names, dtypes and shapes, then each tensor's
/// bytes are asked for in turn. The file appears only when complete (temporary name, fsync,
/// rename); on any error nothing is left under `path`.
public enum SafetensorsWriter {
    /// One tensor to write; `bytes` is called once, when its turn comes, and must return exactly
    /// the tensor's size in bytes (little-endian elements).
    public struct Entry {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var bytes: () throws -> [UInt8]

        public init(name: String, dtype: DType, shape: [Int], bytes: @escaping () throws -> [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        public var byteCount: Int {
            Int(dtype.byteCount(elements: UInt64(Checkpoints.elementCount(of: shape) ?? 0)) ?? 0)
        }
    }

    /// The header for `entries` (also what `--dry-run` reports sizes from).
    public static func header(_ entries: [Entry], metadata: [(String, String)] = []) -> [UInt8] {
        var members: [(String, JSONValue)] = []
        if !metadata.isEmpty { members.append(("__metadata__", .object(metadata.map { ($0.0, .string($0.1)) }))) }
        var offset = 0
        for e in entries {
            members.append(
                (
                    e.name,
                    .object([
                        ("dtype", .string(e.dtype.rawValue)), ("shape", .array(e.shape.map { .int($0) })),
                        ("data_offsets", .array([.int(offset), .int(offset + e.byteCount)])),
                    ])
                ))
            offset += e.byteCount
        }
        var header = Array(JSONValue.object(members).serialized().utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        return header
    }

    /// Bytes the file will take.
    public static func fileSize(_ entries: [Entry], metadata: [(String, String)] = []) -> Int {
        8 + header(entries, metadata: metadata).count + entries.reduce(0) { $0 + $1.byteCount }
    }

    /// Writes the file; returns its size.
    /// - Throws: `CheckpointError` naming the tensor whose bytes had the wrong size, the
    ///   `SystemError` of the write, or whatever an entry's `bytes` throws.
    @discardableResult
    public static func write(_ entries: [Entry], to path: String, metadata: [(String, String)] = []) throws -> Int {
        let names = entries.map(\.name)
        if Set(names).count != names.count {
            throw CheckpointError(
                .badTensorName(
                    "two tensors are both named \(names.first { n in names.filter { $0 == n }.count > 1 } ?? "")"),
                path: path)
        }
        let writer = try AtomicFileWriter(path: path)
        let header = header(entries, metadata: metadata)
        var length: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { length.append(contentsOf: $0) }
        try writer.write(length + header)
        for e in entries {
            let bytes = try e.bytes()
            guard bytes.count == e.byteCount else {
                throw CheckpointError(
                    .sizeMismatch(tensor: e.name, expected: UInt64(e.byteCount), found: UInt64(bytes.count)), path: path
                )
            }
            try writer.write(bytes)
        }
        try writer.commit()
        return Int(writer.bytesWritten)
    }
}
