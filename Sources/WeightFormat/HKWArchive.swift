import Crypto
import Foundation
import Platform
import Quantization
import StrictJSON

/// `hasskit pack` / `unpack`: a `.hkw` file as one zstd stream, bit-exact on the way back.
///
/// Before compression, F32/F16/BF16 tensors are split into byte planes (all first bytes of each
/// element of a 1 MiB chunk, then all second bytes, …): exponent bytes repeat a lot and compress
/// far better once they sit together. The decompressed stream is
///
///     "HKWZ" · u32 version (1) · u64 header length · header JSON · transformed file · SHA-256 of the file
///
/// where the header lists the plane-split ranges; `unpack` reverses them chunk by chunk, checks
/// the SHA-256 and the `.hkw` structure, and only then renames the output into place.
public enum HKWArchive {
    public static let magic: [UInt8] = Array("HKWZ".utf8)
    static let chunk = 1 << 20

    public struct Report: Sendable {
        public var input: String
        public var output: String
        public var bytesIn: UInt64
        public var bytesOut: UInt64
        public var seconds: Double
        public var threads: Int

        /// Original size over packed size.
        public var ratio: Double {
            let packed = min(bytesIn, bytesOut), original = max(bytesIn, bytesOut)
            return packed > 0 ? Double(original) / Double(packed) : 0
        }
    }

    struct Segment {
        var offset: Int
        var length: Int
        /// Element width for byte-plane splitting, or 1 for bytes stored as they are.
        var width: Int
    }

    /// The file cut into segments of at most 1 MiB, each either plane-split (width 2 or 4) or not.
    static func segments(fileSize: Int, planes: [(Int, Int, Int)]) -> [Segment] {
        var out: [Segment] = []
        var pos = 0
        func plain(upTo end: Int) {
            while pos < end {
                let n = min(chunk, end - pos)
                out.append(Segment(offset: pos, length: n, width: 1))
                pos += n
            }
        }
        for (start, length, width) in planes.sorted(by: { $0.0 < $1.0 }) where start >= pos && length > 0 {
            plain(upTo: start)
            let end = start + length
            let step = chunk / width * width
            while pos < end {
                let n = min(step, end - pos)
                out.append(Segment(offset: pos, length: n, width: n % width == 0 ? width : 1))
                pos += n
            }
        }
        plain(upTo: fileSize)
        return out
    }

    static func splitPlanes(_ bytes: UnsafeRawBufferPointer, width: Int, into out: inout [UInt8]) {
        let n = bytes.count / width
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(bytes.count)
        for plane in 0..<width {
            for i in 0..<n { out.append(bytes[i * width + plane]) }
        }
    }

    static func joinPlanes(_ bytes: [UInt8], width: Int) -> [UInt8] {
        let n = bytes.count / width
        var out = [UInt8](repeating: 0, count: bytes.count)
        for plane in 0..<width {
            for i in 0..<n { out[i * width + plane] = bytes[plane * n + i] }
        }
        return out
    }

    /// Compresses `path` (a valid `.hkw`) into `out`.
    public static func pack(
        path: String, out: String, level: Int = 9, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        force: Bool = false
    ) throws -> Report {
        let started = Date()
        if FileSystem.kind(of: out) != .missing && !force {
            throw HKWError(.writer("\(out) already exists; pass --force to replace it"), path: out)
        }
        let file = try HKWFile(path: path)
        let view = try ByteStorage(mapping: path).view
        var planes: [(Int, Int, Int)] = []
        for t in file.tensors {
            let width: Int
            switch t.type {
            case .f16?, .bf16?: width = 2
            case .f32?: width = 4
            default: continue
            }
            planes.append((Int(file.dataOffset + t.offset), Int(t.length), width))
        }
        let header: JSONValue = .object([
            ("original_size", .int(view.count)),
            ("chunk", .int(chunk)),
            ("planes", .array(planes.map { .array([.int($0.0), .int($0.1), .int($0.2)]) })),
        ])
        let headerBytes = Array(header.serialized().utf8)
        var prefix = magic
        withUnsafeBytes(of: UInt32(1).littleEndian) { prefix += $0 }
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { prefix += $0 }
        prefix += headerBytes

        let writer = try AtomicFileWriter(path: out)
        let compressor = try ZstdCompressor(level: level, threads: threads)
        func emit(_ raw: UnsafeRawBufferPointer) throws(HKWError) {
            do throws(SystemError) { try writer.write(raw) } catch { throw HKWError(error) }
        }
        try prefix.withUnsafeBytes { raw in try compressor.compress(raw, end: false, sink: emit) }
        var hasher = SHA256()
        var scratch: [UInt8] = []
        for s in segments(fileSize: view.count, planes: planes) {
            guard let part = view.slice(start: s.offset, length: s.length) else { continue }
            try part.withUnsafeBytes { raw in
                hasher.update(bufferPointer: raw)
                if s.width > 1 {
                    splitPlanes(raw, width: s.width, into: &scratch)
                    try scratch.withUnsafeBytes { t in try compressor.compress(t, end: false, sink: emit) }
                } else {
                    try compressor.compress(raw, end: false, sink: emit)
                }
            }
            part.releasePages()
        }
        let digest = Array(hasher.finalize())
        try digest.withUnsafeBytes { raw in try compressor.compress(raw, end: true, sink: emit) }
        try writer.commit()
        return Report(
            input: path, output: out, bytesIn: UInt64(view.count), bytesOut: writer.bytesWritten,
            seconds: Date().timeIntervalSince(started), threads: compressor.workers)
    }

    /// Decompresses `path` into `out`, checking the SHA-256 and the `.hkw` structure first.
    public static func unpack(path: String, out: String, force: Bool = false) throws -> Report {
        let started = Date()
        if FileSystem.kind(of: out) != .missing && !force {
            throw HKWError(.writer("\(out) already exists; pass --force to replace it"), path: out)
        }
        let input = try ByteStorage(mapping: path).view
        let writer = try AtomicFileWriter(path: out)
        let decoder = Unpacker(path: path, writer: writer)
        let decompressor = try ZstdDecompressor()
        var offset = 0
        while offset < input.count {
            let n = min(4 << 20, input.count - offset)
            guard let part = input.slice(start: offset, length: n) else { break }
            try part.withUnsafeBytes { raw in
                try decompressor.decompress(raw, path: path) { (bytes) throws(HKWError) in try decoder.feed(bytes) }
            }
            offset += n
        }
        guard decompressor.frameComplete else {
            throw HKWError(.invalidHeader("the zstd stream is truncated"), path: path)
        }
        try decoder.finish()
        _ = try HKWFile(path: writer.temporaryPath)  // the result must be a valid .hkw before it gets its name
        try writer.commit()
        return Report(
            input: path, output: out, bytesIn: UInt64(input.count), bytesOut: writer.bytesWritten,
            seconds: Date().timeIntervalSince(started), threads: 1)
    }
}

/// The decompressed-stream parser of `unpack`: header, then segments, then the digest.
final class Unpacker {
    let path: String
    let writer: AtomicFileWriter
    private var buffer: [UInt8] = []
    private var segments: [HKWArchive.Segment]?
    private var next = 0
    private var originalSize = 0
    private var hasher = SHA256()
    private var digest: [UInt8]?

    init(path: String, writer: AtomicFileWriter) {
        self.path = path
        self.writer = writer
    }

    func bad(_ m: String) -> HKWError { HKWError(.invalidHeader(m), path: path) }

    func feed(_ bytes: UnsafeRawBufferPointer) throws(HKWError) {
        buffer.append(contentsOf: bytes)
        if segments == nil {
            guard buffer.count >= 16 else { return }
            guard Array(buffer[0..<4]) == HKWArchive.magic else { throw bad("not a packed .hkw (bad magic)") }
            let version = buffer[4..<8].enumerated().reduce(UInt32(0)) {
                $0 | UInt32($1.element) << (8 * UInt32($1.offset))
            }
            guard version == 1 else { throw bad("packed format version \(version) is not supported") }
            let length = buffer[8..<16].enumerated().reduce(UInt64(0)) {
                $0 | UInt64($1.element) << (8 * UInt64($1.offset))
            }
            guard length <= 64 << 20 else { throw bad("header of \(length) bytes") }
            guard buffer.count >= 16 + Int(length) else { return }
            let header: JSONValue
            do { header = try JSONParser().parse(buffer[16..<(16 + Int(length))]) } catch {
                throw bad(error.description)
            }
            guard let size = header["original_size"]?.intValue, size >= 0,
                header["chunk"]?.intValue == HKWArchive.chunk,
                let planeList = header["planes"]?.arrayValue
            else { throw bad("incomplete header") }
            var planes: [(Int, Int, Int)] = []
            for p in planeList {
                guard let a = p.arrayValue, a.count == 3, let o = a[0].intValue, let l = a[1].intValue,
                    let w = a[2].intValue,
                    o >= 0, l >= 0, w == 2 || w == 4, o <= size, l <= size - o
                else { throw bad("invalid plane range") }
                planes.append((o, l, w))
            }
            originalSize = size
            segments = HKWArchive.segments(fileSize: size, planes: planes)
            buffer.removeFirst(16 + Int(length))
        }
        guard let segments else { return }
        while next < segments.count, buffer.count >= segments[next].length {
            let s = segments[next]
            let piece = Array(buffer[0..<s.length])
            buffer.removeFirst(s.length)
            let original = s.width > 1 ? HKWArchive.joinPlanes(piece, width: s.width) : piece
            original.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            do throws(SystemError) { try writer.write(original) } catch { throw HKWError(error) }
            next += 1
        }
        if next == segments.count {
            guard buffer.count <= 32 else { throw bad("data after the end of the packed file") }
            if buffer.count == 32 { digest = buffer }
        }
    }

    func finish() throws(HKWError) {
        guard let segments, next == segments.count, let digest else {
            throw bad("the packed stream ends before the whole file (\(writer.bytesWritten) of \(originalSize) bytes)")
        }
        guard Array(hasher.finalize()) == digest else {
            throw HKWError(
                .checksumMismatch(name: "(whole file)", expected: Hex.encode(digest), found: "a different file"),
                path: path)
        }
    }
}
