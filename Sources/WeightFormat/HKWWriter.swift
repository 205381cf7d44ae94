import Crypto
import Dispatch
import Foundation
import Platform
import Quantization
import StrictJSON

/// Writes a `.hkw` file in one sequential pass with bounded memory.
///
/// The layout is planned up front (types and shapes fix every size), the header is written with
/// placeholder checksums of the final length, entries are streamed and hashed in plan order, and
/// the header is rewritten with the real checksums before `fsync` and `rename`. Until `commit()`
/// returns, the destination path is untouched; a writer dropped early leaves nothing behind.
public final class HKWWriter {
    /// One planned entry.
    public struct Entry: Sendable {
        public var name: String
        public var kind: HKWEntryKind
        /// Storage type (tensors only).
        public var type: QuantType?
        /// Shape, outermost first (tensors only).
        public var shape: [Int]
        public var length: UInt64

        /// A tensor entry; its length follows from `type` and `shape`.
        public static func tensor(_ name: String, type: QuantType, shape: [Int]) -> Entry {
            Entry(name: name, kind: .tensor, type: type, shape: shape, length: type.byteCount(shape: shape) ?? 0)
        }

        /// A verbatim file entry.
        public static func file(_ name: String, length: Int) -> Entry {
            Entry(name: name, kind: .file, type: nil, shape: [], length: UInt64(length))
        }
    }

    public let path: String
    private let output: AtomicFileWriter
    private let entries: [Entry]
    private let offsets: [UInt64]
    private let metadata: JSONValue
    private let dataOffset: UInt64
    private let headerLength: Int
    private let dataLength: UInt64
    private var checksums: [String]
    private var current = 0
    private var currentWritten: UInt64 = 0
    private let sink: WriterSink

    /// Plans the file and writes its preamble and provisional header.
    ///
    /// - Parameters:
    ///   - metadata: a JSON object stored as the header's `metadata` (architecture, config,
    ///     tokenizer settings, provenance; see `docs/FORMAT.md`).
    ///   - entries: tensors and files, in the order they will be written.
    ///   - metadataReserve: extra header bytes kept free so that `commit(metadata:)` can store
    ///     metadata that is only known after the data was written (per-tensor quality figures).
    /// - Throws: `HKWError` for an invalid plan or an I/O failure.
    public init(path: String, metadata: JSONValue, entries: [Entry], metadataReserve: Int = 0) throws(HKWError) {
        self.path = path
        guard metadata.objectMembers != nil else {
            throw HKWError(.writer("metadata must be a JSON object"), path: path)
        }
        var names = Set<String>()
        var offsets: [UInt64] = []
        var cursor: UInt64 = 0
        for e in entries {
            try HKWWriter.validateName(e.name, path: path)
            guard names.insert("\(e.kind.rawValue):\(e.name)").inserted else {
                throw HKWError(.invalidEntry(name: e.name, detail: "planned twice"), path: path)
            }
            if e.kind == .tensor {
                guard let type = e.type else {
                    throw HKWError(.invalidEntry(name: e.name, detail: "tensor without a type"), path: path)
                }
                if let problem = type.shapeProblem(e.shape) {
                    throw HKWError(.invalidEntry(name: e.name, detail: problem), path: path)
                }
                guard type.byteCount(shape: e.shape) == e.length else {
                    throw HKWError(
                        .invalidEntry(
                            name: e.name, detail: "length \(e.length) does not match \(type.rawValue) \(e.shape)"),
                        path: path)
                }
            }
            cursor = alignUp(cursor, HKWFormat.entryAlignment)
            offsets.append(cursor)
            cursor += e.length
        }
        self.entries = entries
        self.offsets = offsets
        self.metadata = metadata
        self.checksums = Array(repeating: String(repeating: "0", count: 64), count: entries.count)
        let header = HKWWriter.headerJSON(metadata: metadata, entries: entries, offsets: offsets, checksums: checksums)
        headerLength = header.count
        dataLength = cursor
        dataOffset = alignUp(
            UInt64(HKWFormat.preambleSize + header.count + max(0, metadataReserve)), HKWFormat.dataAlignment)
        do {
            output = try AtomicFileWriter(path: path)
            try output.write(
                HKWWriter.preamble(headerLength: UInt64(header.count), dataOffset: dataOffset, dataLength: cursor))
            try output.write(header)
            try output.writeZeros(Int(dataOffset) - HKWFormat.preambleSize - header.count)
        } catch {
            throw HKWError(error)
        }
        sink = WriterSink(output: output, path: path)
    }

    deinit {
        // Let queued writes finish so the temporary file is closed and removed with this writer.
        sink.waitIdle()
    }

    static func validateName(_ name: String, path: String) throws(HKWError) {
        guard !name.isEmpty, name.utf8.count <= HKWFormat.maxNameLength, !name.utf8.contains(0) else {
            throw HKWError(
                .invalidEntry(name: name, detail: "names must be 1–\(HKWFormat.maxNameLength) bytes without NUL"),
                path: path)
        }
    }

    /// Appends bytes to the current entry (call repeatedly to stream a large tensor). The bytes
    /// are copied; hashing and writing happen on the writer's own thread, overlapping with
    /// whatever the caller computes next.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(HKWError) {
        try append(ByteView(Array(bytes)))
    }

    public func append(_ bytes: [UInt8]) throws(HKWError) {
        try append(ByteView(bytes))
    }

    /// Appends a view without copying it (the view keeps its storage alive until written).
    public func append(_ view: ByteView) throws(HKWError) {
        guard current < entries.count else {
            throw HKWError(.writer("append after the last planned entry"), path: path)
        }
        let e = entries[current]
        guard currentWritten + UInt64(view.count) <= e.length else {
            throw HKWError(
                .invalidEntry(name: e.name, detail: "more than the planned \(e.length) bytes written"), path: path)
        }
        if let failure = sink.failure { throw failure }
        if currentWritten == 0 { sink.enqueuePadding(to: dataOffset + offsets[current]) }
        sink.enqueue(view)
        currentWritten += UInt64(view.count)
    }

    /// Closes the current entry; its byte count must equal the plan.
    public func finishEntry() throws(HKWError) {
        guard current < entries.count else {
            throw HKWError(.writer("finishEntry after the last planned entry"), path: path)
        }
        let e = entries[current]
        if currentWritten == 0 { sink.enqueuePadding(to: dataOffset + offsets[current]) }
        guard currentWritten == e.length else {
            throw HKWError(
                .invalidEntry(name: e.name, detail: "\(currentWritten) bytes written, \(e.length) planned"), path: path)
        }
        checksums[current] = try sink.finishHash()
        current += 1
        currentWritten = 0
    }

    /// Writes the final header (with `metadata` replacing the planned metadata when given), syncs
    /// and renames the file into place.
    /// - Throws: `HKWError` when entries are missing, the new metadata does not fit the space
    ///   reserved for it, or on I/O errors.
    public func commit(metadata final: JSONValue? = nil) throws(HKWError) {
        guard current == entries.count else {
            throw HKWError(.writer("commit with \(entries.count - current) planned entries not written"), path: path)
        }
        let header = HKWWriter.headerJSON(
            metadata: final ?? metadata, entries: entries, offsets: offsets, checksums: checksums)
        try sink.drain()
        let room = Int(dataOffset) - HKWFormat.preambleSize
        guard header.count <= room else {
            throw HKWError(
                .writer("final header of \(header.count) bytes exceeds the \(room) bytes reserved"), path: path)
        }
        do {
            try output.overwrite(
                HKWWriter.preamble(headerLength: UInt64(header.count), dataOffset: dataOffset, dataLength: dataLength),
                at: 0)
            // The header, then zeros over whatever the provisional header left beyond it.
            try output.overwrite(
                header + [UInt8](repeating: 0, count: max(0, headerLength - header.count)),
                at: UInt64(HKWFormat.preambleSize))
            try output.commit()
        } catch {
            throw HKWError(error)
        }
    }

    static func preamble(headerLength: UInt64, dataOffset: UInt64, dataLength: UInt64) -> [UInt8] {
        var p = HKWFormat.magic
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { p.append(contentsOf: $0) } }
        put(HKWFormat.version)
        put(UInt32(0))  // flags
        put(UInt64(HKWFormat.preambleSize))
        put(headerLength)
        put(dataOffset)
        put(dataLength)
        p.append(contentsOf: [UInt8](repeating: 0, count: HKWFormat.preambleSize - p.count))
        return p
    }

    static func headerJSON(metadata: JSONValue, entries: [Entry], offsets: [UInt64], checksums: [String]) -> [UInt8] {
        var tensors: [JSONValue] = []
        var files: [JSONValue] = []
        for (i, e) in entries.enumerated() {
            switch e.kind {
            case .tensor:
                tensors.append(
                    .object([
                        ("name", .string(e.name)), ("type", .string(e.type?.rawValue ?? "")),
                        ("shape", .array(e.shape.map { .int($0) })), ("offset", .int(offsets[i])),
                        ("length", .int(e.length)), ("sha256", .string(checksums[i])),
                    ]))
            case .file:
                files.append(
                    .object([
                        ("name", .string(e.name)), ("offset", .int(offsets[i])), ("length", .int(e.length)),
                        ("sha256", .string(checksums[i])),
                    ]))
            }
        }
        let header: JSONValue = .object([
            ("format", .string("hkw")), ("version", .int(HKWFormat.version)),
            ("alignment", .int(HKWFormat.entryAlignment)), ("metadata", metadata),
            ("files", .array(files)), ("tensors", .array(tensors)),
        ])
        return Array(header.serialized().utf8)
    }
}

/// The writer's background half: hashes and writes queued chunks in order on one serial queue,
/// with at most `maxPending` chunks in flight so memory stays bounded.
///
/// `@unchecked Sendable` because `output`, `hasher` and `written` are touched only on `queue`;
/// `failure` is guarded by `lock`.
final class WriterSink: @unchecked Sendable {
    private let output: AtomicFileWriter
    private let path: String
    private let queue = DispatchQueue(label: "hasskit.hkw.writer")
    private let pending = DispatchSemaphore(value: 8)
    private let lock = NSLock()
    private var hasher = SHA256()
    private var storedFailure: HKWError?

    init(output: AtomicFileWriter, path: String) {
        self.output = output
        self.path = path
    }

    var failure: HKWError? {
        lock.lock()
        defer { lock.unlock() }
        return storedFailure
    }

    private func record(_ e: HKWError) {
        lock.lock()
        if storedFailure == nil { storedFailure = e }
        lock.unlock()
    }

    func enqueue(_ view: ByteView) {
        pending.wait()
        queue.async {
            defer { self.pending.signal() }
            guard self.failure == nil else { return }
            view.withUnsafeBytes { self.hasher.update(bufferPointer: $0) }
            do throws(SystemError) { try self.output.write(view) } catch { self.record(HKWError(error)) }
            // The sink is a mapped view's last reader: drop its pages now, or a caller's earlier
            // release is undone by this read and resident memory grows with the model.
            view.releasePages()
        }
    }

    /// Zero padding up to absolute file offset `target` (not hashed).
    func enqueuePadding(to target: UInt64) {
        queue.async {
            guard self.failure == nil else { return }
            let pad = Int(target) - Int(self.output.bytesWritten)
            do throws(SystemError) { try self.output.writeZeros(pad) } catch { self.record(HKWError(error)) }
        }
    }

    /// Waits for the queued chunks and returns the entry's SHA-256 (hex), starting a new one.
    func finishHash() throws(HKWError) -> String {
        let digest: String = queue.sync {
            let d = Hex.encode(hasher.finalize())
            hasher = SHA256()
            return d
        }
        if let failure { throw failure }
        return digest
    }

    func waitIdle() {
        queue.sync {}
    }

    func drain() throws(HKWError) {
        queue.sync {}
        if let failure { throw failure }
    }
}
