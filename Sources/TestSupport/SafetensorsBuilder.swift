import StrictJSON

/// Builds safetensors images in memory, the way the reference writer lays them out (header padded
/// with spaces to 8 bytes, tensors back to back), for tests that need many variants.
public struct SafetensorsBuilder {
    public struct Item {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var bytes: [UInt8]
    }

    public var items: [Item] = []
    public var metadata: [(String, String)] = []

    public init() {}

    /// Adds an F32 tensor.
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        var bytes: [UInt8] = []
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        items.append(Item(name: name, dtype: "F32", shape: shape, bytes: bytes))
    }

    /// Adds a tensor with raw bytes.
    public mutating func add(_ name: String, dtype: String, shape: [Int], bytes: [UInt8]) {
        items.append(Item(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// The file image.
    public func build() -> [UInt8] {
        var members: [(String, JSONValue)] = []
        if !metadata.isEmpty { members.append(("__metadata__", .object(metadata.map { ($0.0, .string($0.1)) }))) }
        var offset = 0
        var data: [UInt8] = []
        for item in items {
            members.append(
                (
                    item.name,
                    .object([
                        ("dtype", .string(item.dtype)), ("shape", .array(item.shape.map { .int($0) })),
                        ("data_offsets", .array([.int(offset), .int(offset + item.bytes.count)])),
                    ])
                ))
            offset += item.bytes.count
            data.append(contentsOf: item.bytes)
        }
        var header = Array(JSONValue.object(members).serialized().utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        return out + header + data
    }
}
