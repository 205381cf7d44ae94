import CacheLayout
import Checks
import Foundation
import Hub
import Platform
import Registry

/// `compat PAIR --remote`: the structural checks before anything is downloaded. Each member's
/// small files (configs, tokenizer) are fetched whole; of each weights file only the bytes that
/// describe it are read by range: a safetensors file's 8-byte length and header, a PyTorch zip's
/// end record, central directory, local headers and `data.pkl`. Those bytes are laid out at their
/// offsets in sparse files of the real sizes under a temporary folder, so that the same readers
/// that open a downloaded snapshot describe the mirror, and no weight byte is ever asked for.
public struct RemoteCompat: Sendable {
    public var report: PairCompatibility
    /// Bytes read from the hub (bodies), and in how many requests.
    public var bytesRead: UInt64
    public var requests: Int
    /// The bytes the pair's files take on the hub (what a pull would download).
    public var bytesOnHub: UInt64
}

extension PairWorkspace {
    public func remoteCompat() throws -> RemoteCompat {
        let dir = FileSystem.join(NSTemporaryDirectory(), "hasskit-remote-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var reader = RemoteHeaderReader(client: operations.client)
        for (role, member) in [(PairLock.Role.base, manifest.base), (.draft, manifest.draft)] {
            let repo = try RepoID(member.repo)
            let commit = try operations.client.resolveCommit(repo: repo, revision: try Revision(member.revision))
            let files = try operations.client.listFiles(repo: repo, commit: commit).filter { f in
                member.include.contains { PairOperations.matches(f.path, $0) }
            }
            try reader.mirror(repo: repo, commit: commit, files: files, into: FileSystem.join(dir, role.rawValue))
        }
        let report = try PairWorkspace.structuralCompat(
            base: FileSystem.join(dir, "base"), draft: FileSystem.join(dir, "draft"))
        return RemoteCompat(
            report: report, bytesRead: reader.bytesRead, requests: reader.requests, bytesOnHub: reader.bytesOnHub)
    }
}

/// Reads what describes a repository's files, by range, into sparse local copies.
struct RemoteHeaderReader {
    let client: HubClient
    var bytesRead: UInt64 = 0
    var requests = 0
    var bytesOnHub: UInt64 = 0
    /// Files below this size are read whole (configs, tokenizers; LLaMA-3's tokenizer.json is 9 MB).
    static let wholeFileLimit: UInt64 = 64 << 20
    /// A safetensors header larger than this is refused (safetensors' own limit is 100 MB).
    static let maxHeader: UInt64 = 100 << 20

    mutating func mirror(repo: RepoID, commit: CommitID, files: [RemoteFile], into dir: String) throws {
        try FileSystem.createDirectory(dir)
        for f in files {
            bytesOnHub += f.size
            let name = FileSystem.split(f.path).name
            // Only top-level files matter to a checkpoint reader; the path is the hub's, so a
            // name is used only once it is known to be a plain file name.
            guard !f.path.contains("/"), !name.hasPrefix("."), !name.isEmpty else { continue }
            let local = FileSystem.join(dir, name)
            var pieces: [(offset: UInt64, bytes: [UInt8])] = []
            if name.hasSuffix(".safetensors") {
                pieces = try safetensorsPieces(repo: repo, commit: commit, file: f)
            } else if name.hasSuffix(".bin") || name.hasSuffix(".pt") || name.hasSuffix(".pth") {
                pieces = try zipPieces(repo: repo, commit: commit, file: f)
            } else if f.size <= Self.wholeFileLimit {
                pieces = [(0, f.size == 0 ? [] : try read(repo, commit, f, 0...(f.size - 1)))]
            } else {
                continue
            }
            try writeSparse(local, size: f.size, pieces: pieces)
        }
    }

    mutating func read(
        _ repo: RepoID, _ commit: CommitID, _ f: RemoteFile, _ range: ClosedRange<UInt64>
    ) throws
        -> [UInt8]
    {
        let bytes = try client.readRange(repo: repo, commit: commit, file: f, range: range)
        bytesRead += UInt64(bytes.count)
        requests += 1
        return bytes
    }

    /// The 8-byte little-endian header length, then the header.
    mutating func safetensorsPieces(repo: RepoID, commit: CommitID, file f: RemoteFile) throws -> [(UInt64, [UInt8])] {
        guard f.size >= 8 else { throw HubError(.protocolViolation("\(f.path) is \(f.size) bytes"), location: f.path) }
        let prefix = try read(repo, commit, f, 0...7)
        let n = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n > 0, n <= Self.maxHeader, 8 + n <= f.size else {
            throw HubError(
                .protocolViolation("\(f.path) declares a \(n)-byte header in a \(f.size)-byte file"), location: f.path)
        }
        return [(0, prefix), (8, try read(repo, commit, f, 8...(8 + n - 1)))]
    }

    /// A PyTorch checkpoint is a zip: its end record (in the last 64 KiB + 22 bytes), the central
    /// directory, then each member's local header, and `data.pkl` whole (the tensors' shapes and
    /// types; the tensor data members are never read).
    mutating func zipPieces(repo: RepoID, commit: CommitID, file f: RemoteFile) throws -> [(UInt64, [UInt8])] {
        func fail(_ why: String) -> HubError { HubError(.protocolViolation("\(f.path): \(why)"), location: f.path) }
        guard f.size >= 22 else { throw fail("too small for a zip") }
        let tailStart = f.size > 65_558 ? f.size - 65_558 : 0
        let tail = try read(repo, commit, f, tailStart...(f.size - 1))
        func u16(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(b[i]) | UInt64(b[i + 1]) << 8 }
        func u32(_ b: [UInt8], _ i: Int) -> UInt64 { u16(b, i) | u16(b, i + 2) << 16 }
        func u64(_ b: [UInt8], _ i: Int) -> UInt64 { u32(b, i) | u32(b, i + 4) << 32 }
        guard
            let eocd = stride(from: tail.count - 22, through: 0, by: -1).first(where: { u32(tail, $0) == 0x0605_4b50 })
        else { throw fail("no end of central directory record") }
        var pieces: [(UInt64, [UInt8])] = [(tailStart, tail)]
        var cdOffset = u32(tail, eocd + 16), cdSize = u32(tail, eocd + 12), count = u16(tail, eocd + 10)
        // ZIP64 (PyTorch writes it for large files): the locator just before the end record.
        if cdOffset == 0xFFFF_FFFF || count == 0xFFFF, eocd >= 20, u32(tail, eocd - 20) == 0x0706_4b50 {
            let recordAt = u64(tail, eocd - 12)
            guard recordAt >= tailStart, Int(recordAt - tailStart) + 56 <= tail.count else {
                throw fail("ZIP64 end record outside the last 64 KiB")
            }
            let r = Int(recordAt - tailStart)
            count = u64(tail, r + 32)
            cdSize = u64(tail, r + 40)
            cdOffset = u64(tail, r + 48)
        }
        guard cdSize > 0, cdSize <= Self.maxHeader, cdOffset + cdSize <= f.size, count <= 1_000_000 else {
            throw fail("central directory of \(cdSize) bytes at \(cdOffset)")
        }
        let cd =
            cdOffset >= tailStart
            ? Array(tail[Int(cdOffset - tailStart)..<Int(cdOffset - tailStart + cdSize)])
            : try read(repo, commit, f, cdOffset...(cdOffset + cdSize - 1))
        if cdOffset < tailStart { pieces.append((cdOffset, cd)) }
        var p = 0
        for _ in 0..<count {
            guard p + 46 <= cd.count, u32(cd, p) == 0x0201_4b50 else { throw fail("bad central directory entry") }
            let nameLength = Int(u16(cd, p + 28)), extraLength = Int(u16(cd, p + 30)), comment = Int(u16(cd, p + 32))
            guard p + 46 + nameLength + extraLength + comment <= cd.count else {
                throw fail("entry past the directory")
            }
            let name = String(decoding: cd[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            var compressed = u32(cd, p + 20), localOffset = u32(cd, p + 42)
            // ZIP64 extra field: the 64-bit sizes and offset that the 32-bit fields overflowed.
            var e = p + 46 + nameLength
            while e + 4 <= p + 46 + nameLength + extraLength {
                let id = u16(cd, e), size = Int(u16(cd, e + 2))
                if id == 1 {
                    var q = e + 4
                    if u32(cd, p + 24) == 0xFFFF_FFFF { q += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = u64(cd, q); q += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = u64(cd, q) }
                }
                e += 4 + size
            }
            p += 46 + nameLength + extraLength + comment
            // A local header is 30 bytes, its name and an extra field (PyTorch pads members to 64
            // bytes with it): 30 + name + 128 covers it.
            let headerEnd = min(f.size - 1, localOffset + 30 + UInt64(nameLength) + 128)
            guard localOffset < f.size else { throw fail("member \(name) starts past the end") }
            let isPickle = name.hasSuffix("/data.pkl") || name == "data.pkl"
            let end = isPickle ? min(f.size - 1, headerEnd + compressed) : headerEnd
            guard !isPickle || compressed <= Self.maxHeader else { throw fail("data.pkl of \(compressed) bytes") }
            pieces.append((localOffset, try read(repo, commit, f, localOffset...end)))
        }
        return pieces
    }

    /// A file of `size` bytes holding `pieces` at their offsets; the rest is a hole.
    func writeSparse(_ path: String, size: UInt64, pieces: [(offset: UInt64, bytes: [UInt8])]) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)  // if it failed, FileHandle throws
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        for (offset, bytes) in pieces where !bytes.isEmpty {
            try handle.seek(toOffset: offset)
            try handle.write(contentsOf: Data(bytes))
        }
        try handle.truncate(atOffset: size)
    }
}
