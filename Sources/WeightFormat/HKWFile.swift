import Crypto
import Platform
import Quantization
import StrictJSON

/// A validated, memory-mapped `.hkw` file.
///
/// Opening maps the file once and checks the preamble, the header and every entry's offset,
/// length, type and shape before any view is handed out; it reads no tensor data, so opening a
/// large model costs a header parse and no copy. Views stay valid while any of them is alive.
public struct HKWFile: Sendable {
    /// One entry of the data section.
    public struct Entry: Sendable {
        public let name: String
        public let kind: HKWEntryKind
        public let type: QuantType?
        public let shape: [Int]
        /// Offset within the data section.
        public let offset: UInt64
        public let length: UInt64
        /// Lower-case hex SHA-256 of the entry's bytes, as recorded by the writer.
        public let sha256: String
        /// Zero-copy view of the entry's bytes.
        public let data: ByteView
    }

    public let path: String
    /// The header's `metadata` object.
    public let metadata: JSONValue
    /// Tensors in file order.
    public let tensors: [Entry]
    /// Verbatim files in file order.
    public let files: [Entry]
    public let dataOffset: UInt64
    public let headerLength: UInt64

    /// Maps and validates `path`.
    /// - Throws: `HKWError`.
    public init(path: String) throws(HKWError) {
        let storage: ByteStorage
        do {
            storage = try ByteStorage(mapping: path)
        } catch {
            throw HKWError(error)
        }
        try self.init(view: storage.view, path: path)
    }

    public init(view: ByteView, path: String) throws(HKWError) {
        self.path = path
        func bad(_ m: String) -> HKWError { HKWError(.invalidHeader(m), path: path) }
        guard view.hasBytes(HKWFormat.magic) else { throw HKWError(.badMagic, path: path) }
        guard let version = view.u32(at: 8), let headerOffset = view.u64(at: 16), let headerLength = view.u64(at: 24),
            let dataOffset = view.u64(at: 32), let dataLength = view.u64(at: 40)
        else {
            throw HKWError(.truncated(expected: UInt64(HKWFormat.preambleSize), found: UInt64(view.count)), path: path)
        }
        guard version == HKWFormat.version else { throw HKWError(.unsupportedVersion(version), path: path) }
        guard headerOffset == UInt64(HKWFormat.preambleSize) else {
            throw bad("header offset \(headerOffset), expected \(HKWFormat.preambleSize)")
        }
        guard headerLength <= HKWFormat.maxHeaderLength else {
            throw bad("header length \(headerLength) exceeds \(HKWFormat.maxHeaderLength)")
        }
        guard dataOffset % UInt64(HKWFormat.dataAlignment) == 0, dataOffset >= headerOffset + headerLength else {
            throw bad("data offset \(dataOffset) is not a multiple of \(HKWFormat.dataAlignment) after the header")
        }
        let (end, overflow) = dataOffset.addingReportingOverflow(dataLength)
        guard !overflow, end == UInt64(view.count) else {
            throw HKWError(.truncated(expected: overflow ? .max : end, found: UInt64(view.count)), path: path)
        }
        guard let headerBytes = view.bytes(start: Int(headerOffset), length: Int(headerLength)) else {
            throw HKWError(.truncated(expected: headerOffset + headerLength, found: UInt64(view.count)), path: path)
        }
        let header: JSONValue
        do {
            header = try JSONParser(maxDepth: 64).parse(headerBytes)
        } catch {
            throw bad(error.description)
        }
        guard header["format"]?.stringValue == "hkw" else { throw bad("format is not \"hkw\"") }
        guard header["version"]?.uint64Value == UInt64(version) else {
            throw bad("header version disagrees with the preamble")
        }
        guard let metadata = header["metadata"], metadata.objectMembers != nil else { throw bad("no metadata object") }
        guard let tensorList = header["tensors"]?.arrayValue, let fileList = header["files"]?.arrayValue else {
            throw bad("no tensors or files array")
        }
        guard let data = view.slice(start: Int(dataOffset), length: Int(dataLength)) else {
            throw HKWError(.truncated(expected: end, found: UInt64(view.count)), path: path)
        }
        var tensorNames = Set<String>()
        var fileNames = Set<String>()
        func entry(_ json: JSONValue, kind: HKWEntryKind) throws(HKWError) -> Entry {
            guard json.objectMembers != nil, let name = json["name"]?.stringValue else {
                throw bad("entry without a name")
            }
            func invalid(_ m: String) -> HKWError { HKWError(.invalidEntry(name: name, detail: m), path: path) }
            guard !name.isEmpty, name.utf8.count <= HKWFormat.maxNameLength, !name.utf8.contains(0) else {
                throw invalid("name must be 1–\(HKWFormat.maxNameLength) bytes without NUL")
            }
            guard let offset = json["offset"]?.uint64Value, let length = json["length"]?.uint64Value else {
                throw invalid("offset and length must be non-negative integers")
            }
            guard let sha = json["sha256"]?.stringValue, sha.utf8.count == 64,
                sha.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            else {
                throw invalid("sha256 must be 64 lower-case hex digits")
            }
            guard offset % UInt64(HKWFormat.entryAlignment) == 0 else {
                throw invalid("offset \(offset) is not a multiple of \(HKWFormat.entryAlignment)")
            }
            let (entryEnd, o) = offset.addingReportingOverflow(length)
            guard !o, entryEnd <= dataLength, let bytes = data.slice(start: Int(offset), length: Int(length)) else {
                throw invalid("bytes [\(offset), \(offset &+ length)) lie outside the \(dataLength)-byte data section")
            }
            var type: QuantType?
            var shape: [Int] = []
            if kind == .tensor {
                guard let t = json["type"]?.stringValue else { throw invalid("no type") }
                guard let qt = QuantType(rawValue: t) else { throw invalid("unknown type \"\(t.prefix(32))\"") }
                guard let dims = json["shape"]?.arrayValue, dims.count <= 8 else {
                    throw invalid("shape must be an array of at most 8 dimensions")
                }
                for d in dims {
                    guard let u = d.uint64Value, let i = Int(exactly: u) else {
                        throw invalid("dimension \(d.serialized()) is not a non-negative integer")
                    }
                    shape.append(i)
                }
                if let problem = qt.shapeProblem(shape) { throw invalid(problem) }
                guard let expected = qt.byteCount(shape: shape) else {
                    throw invalid("size of \(t) \(shape) overflows")
                }
                guard expected == length else {
                    throw invalid("\(t) \(shape) needs \(expected) bytes, the header gives \(length)")
                }
                type = qt
                guard tensorNames.insert(name).inserted else { throw invalid("duplicate tensor name") }
            } else {
                guard fileNames.insert(name).inserted else { throw invalid("duplicate file name") }
            }
            return Entry(
                name: name, kind: kind, type: type, shape: shape, offset: offset, length: length, sha256: sha,
                data: bytes)
        }
        var tensors: [Entry] = []
        var files: [Entry] = []
        for t in tensorList { tensors.append(try entry(t, kind: .tensor)) }
        for f in fileList { files.append(try entry(f, kind: .file)) }
        // Entries may not overlap.
        let ordered = (tensors + files).sorted { $0.offset < $1.offset }
        for k in ordered.indices.dropFirst() where ordered[k].offset < ordered[k - 1].offset + ordered[k - 1].length {
            throw HKWError(
                .invalidEntry(name: ordered[k].name, detail: "overlaps \"\(ordered[k - 1].name.prefix(120))\""),
                path: path)
        }
        self.metadata = metadata
        self.tensors = tensors
        self.files = files
        self.dataOffset = dataOffset
        self.headerLength = headerLength
    }

    /// The tensor named `name`.
    public func tensor(named name: String) -> Entry? { tensors.first { $0.name == name } }

    /// The verbatim file named `name`.
    public func file(named name: String) -> Entry? { files.first { $0.name == name } }

    /// The bytes of the verbatim file `name` (config, tokenizer, chat template), checked against
    /// the SHA-256 the header records before anyone parses them: a flipped byte is reported as
    /// damage to that entry, not as whatever the parser would make of it. nil when there is no
    /// such file. These entries are small (kilobytes to a few MB), so the check costs little.
    public func verifiedFile(named name: String) throws(HKWError) -> [UInt8]? {
        guard let e = file(named: name) else { return nil }
        try verify(e)
        return e.data.array
    }

    /// SHA-256 of an entry's bytes, read in chunks whose pages are released after.
    static func sha256(_ data: ByteView) -> String {
        var h = SHA256()
        data.forEachChunk(64 << 20) { h.update(bufferPointer: $0) }
        return Hex.encode(h.finalize())
    }

    /// Re-hashes one entry. - Throws: `HKWError.checksumMismatch`.
    public func verify(_ e: Entry) throws(HKWError) {
        let found = Self.sha256(e.data)
        guard found == e.sha256 else {
            throw HKWError(.checksumMismatch(name: e.name, expected: e.sha256, found: found), path: path)
        }
    }

    /// Identity of the weights: SHA-256 over the sorted `name:type:shape:sha256` lines of all
    /// tensors. A draft converted against this base records it; computing it reads no data.
    public var contentHash: String {
        var h = SHA256()
        for t in tensors.sorted(by: { $0.name < $1.name }) {
            let line =
                "\(t.name):\(t.type?.rawValue ?? ""):\(t.shape.map(String.init).joined(separator: ",")):\(t.sha256)\n"
            h.update(data: Array(line.utf8))
        }
        return Hex.encode(h.finalize())
    }

    /// Re-hashes every entry and compares with the header.
    /// - Throws: `HKWError.checksumMismatch` naming the first bad entry.
    public func verifyChecksums() throws(HKWError) {
        for e in tensors + files { try verify(e) }
    }

    /// Re-hashes every entry; the damaged ones, in file order (empty when the file is intact).
    /// Each tensor's pages are released after hashing, so a model larger than memory can be checked.
    public func damagedEntries() -> [(entry: Entry, found: String)] {
        var out: [(Entry, String)] = []
        for e in tensors + files {
            let found = Self.sha256(e.data)
            if found != e.sha256 { out.append((e, found)) }
        }
        return out
    }
}
