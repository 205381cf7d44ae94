/// Builds GGUF images in memory (version 3 by default), for tests of the reader: valid files and,
/// by changing fields afterwards or by hand, hostile ones.
public struct GGUFBuilder {
    public enum Value {
        case u32(UInt32)
        case i32(Int32)
        case f32(Float)
        case bool(Bool)
        case string(String)
        case strings([String])
        case i32s([Int32])
        case f32s([Float])
    }

    public var version: UInt32 = 3
    public var alignment = 32
    public var metadata: [(String, Value)] = []
    /// Name, shape in HF order (outermost first), ggml type number, bytes.
    public var tensors: [(name: String, shape: [Int], type: UInt32, bytes: [UInt8])] = []

    public init() {}

    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func string(_ s: String) -> [UInt8] { u64(UInt64(s.utf8.count)) + Array(s.utf8) }

    static func encode(_ v: Value) -> [UInt8] {
        switch v {
        case let .u32(x): return u32(4) + u32(x)
        case let .i32(x): return u32(5) + u32(UInt32(bitPattern: x))
        case let .f32(x): return u32(6) + u32(x.bitPattern)
        case let .bool(b): return u32(7) + [b ? 1 : 0]
        case let .string(s): return u32(8) + string(s)
        case let .strings(a): return u32(9) + u32(8) + u64(UInt64(a.count)) + a.flatMap(string)
        case let .i32s(a): return u32(9) + u32(5) + u64(UInt64(a.count)) + a.flatMap { u32(UInt32(bitPattern: $0)) }
        case let .f32s(a): return u32(9) + u32(6) + u64(UInt64(a.count)) + a.flatMap { u32($0.bitPattern) }
        }
    }

    /// The file image.
    public func build() -> [UInt8] {
        var out =
            Array("GGUF".utf8) + Self.u32(version) + Self.u64(UInt64(tensors.count)) + Self.u64(UInt64(metadata.count))
        for (k, v) in metadata { out += Self.string(k) + Self.encode(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset = (offset + t.bytes.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            out += Self.string(t.name) + Self.u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { out += Self.u64(UInt64(d)) }
            out += Self.u32(t.type) + Self.u64(UInt64(o))
        }
        while out.count % alignment != 0 { out.append(0) }
        let start = out.count
        for (t, o) in zip(tensors, offsets) {
            while out.count < start + o { out.append(0) }
            out += t.bytes
        }
        return out
    }
}
