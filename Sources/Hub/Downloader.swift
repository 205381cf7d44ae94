import CacheLayout
import Crypto
import Foundation
import Platform

/// What happened to one file of a pull.
public struct FetchedFile: Sendable {
    public enum Status: String, Sendable { case downloaded, resumed, cached }
    public var repo: String
    public var path: String
    public var bytes: UInt64
    public var sha256: String?
    public var status: Status
}

/// Downloads files of one repository at one commit into the hub cache.
///
/// - Large files are fetched as several byte ranges at once; several files at once.
/// - Progress survives crashes: a journal beside the partial blob lists the byte ranges already
///   written, so the next run asks only for the rest.
/// - The SHA-256 is checked against the LFS oid (git blob SHA-1 for small non-LFS files) before
///   the blob gets its final name; a mismatch is fetched once more from scratch, then reported.
/// - The disk space is checked up front and reserved with `posix_fallocate`.
public final class Downloader: @unchecked Sendable {
    // Immutable after init; workers only touch their own files and the thread-safe progress.
    public let client: HubClient
    public let cache: HFCache
    public let progress: DownloadProgress

    /// Files hashed in a second pass after their last byte, process-wide (the prefix hasher could
    /// not be used); the tests hold it at zero for ranged downloads.
    static let secondPassHashes = Counter()

    public init(client: HubClient, cache: HFCache, progress: DownloadProgress) {
        self.client = client
        self.cache = cache
        self.progress = progress
    }

    /// Free space kept on the disk beyond what the download needs.
    public static let spaceMargin: UInt64 = 64 << 20

    /// Fetches `files` of `repo` at `commit` (in parallel) and links them into the snapshot.
    ///
    /// Before any space is reserved, one byte of the first missing file is asked for: a gated or
    /// private repository refuses then (401/403), and nothing is left on the disk.
    public func fetch(repo: RepoID, commit: CommitID, files: [RemoteFile]) throws -> [FetchedFile] {
        let layout = cache.layout
        let missing = files.filter { !blobIsComplete(repo, $0) }
        // A file begun by an earlier run has its space reserved already and its access proven;
        // asking again would fetch a byte twice.
        if let probe = missing.first(where: {
            $0.size > 0 && FileSystem.kind(of: partialPath(repo, $0).path) == .missing
        }) {
            try client.checkAccess(repo: repo, commit: commit, file: probe)
        }
        cache.tagCacheFolder()
        let blobs = layout.blobsFolder(repo)
        try cache.createFolder(blobs)
        try cache.createFolder(layout.locksFolder(repo))
        // Space: everything not yet on disk, checked before the first byte is fetched.
        var needed: UInt64 = 0
        for f in missing {
            needed += f.size - min(f.size, Journal(path: journalPath(repo, f).path).doneBytes(limit: f.size))
        }
        if needed > 0, let available = try? FileSystem.availableSpace(at: blobs.path),
            available < needed + Downloader.spaceMargin
        {
            throw HubError(
                .notEnoughSpace(
                    needed: needed, margin: Downloader.spaceMargin, available: available, folder: blobs.path),
                location: blobs.path)
        }
        let results = ResultSlots<FetchedFile>(count: files.count)
        runConcurrently(files.count, width: client.configuration.parallelFiles) { i in
            results.set(i, Result { try self.fetchOne(repo: repo, commit: commit, file: files[i]) })
        }
        var out: [FetchedFile] = []
        for i in 0..<files.count { out.append(try results.get(i).get()) }
        return out
    }

    func blobIsComplete(_ repo: RepoID, _ f: RemoteFile) -> Bool {
        let path = cache.layout.blob(repo, f.blob).path
        return FileSystem.kind(of: path) == .file && (try? FileSystem.size(of: path)) == f.size
    }

    func partialPath(_ repo: RepoID, _ f: RemoteFile) -> CachePath {
        cache.layout.blob(repo, f.blob).appending(suffix: ".hasskit.incomplete")
    }
    func journalPath(_ repo: RepoID, _ f: RemoteFile) -> CachePath {
        cache.layout.blob(repo, f.blob).appending(suffix: ".hasskit.journal")
    }

    func fetchOne(repo: RepoID, commit: CommitID, file f: RemoteFile) throws -> FetchedFile {
        let blob = cache.layout.blob(repo, f.blob).path
        let lock = try FileLock(path: cache.layout.lock(repo, f.blob).path)
        defer { withExtendedLifetime(lock) {} }
        if blobIsComplete(repo, f) {
            progress.expect(f.path, size: f.size, alreadyHave: f.size)
            try cache.linkSnapshot(repo, commit: commit, file: f.file, blob: f.blob)
            return FetchedFile(repo: repo.description, path: f.path, bytes: f.size, sha256: f.sha256, status: .cached)
        }
        var resumed = false
        let partialPath = partialPath(repo, f).path
        let journalPath = journalPath(repo, f).path
        for attempt in 0..<2 {
            let (digest, wasResumed) = try transfer(repo: repo, commit: commit, file: f)
            resumed = resumed || wasResumed
            let expected = f.sha256 ?? f.gitOID
            if digest == expected {
                let sync = client.configuration.syncBlobs
                if sync {
                    let partial = try RandomAccessFile(path: partialPath)
                    try partial.sync()
                }
                try FileSystem.commitRename(partialPath, to: blob, syncFolder: sync)
                try? FileManager.default.removeItem(atPath: journalPath)
                try cache.linkSnapshot(repo, commit: commit, file: f.file, blob: f.blob)
                return FetchedFile(
                    repo: repo.description, path: f.path, bytes: f.size, sha256: f.sha256,
                    status: resumed ? .resumed : .downloaded)
            }
            // Wrong bytes: never keep them; fetch the whole file once more.
            try? FileManager.default.removeItem(atPath: partialPath)
            try? FileManager.default.removeItem(atPath: journalPath)
            progress.reset(f.path)
            if attempt == 1 {
                throw HubError(
                    .integrity(file: "\(repo)/\(f.path)", expected: expected, found: digest),
                    location: client.resolveURL(repo: repo, commit: commit, path: f.path))
            }
        }
        throw HubError(.io("unreachable"), location: blob)
    }

    /// Fetches the missing ranges of a file into its partial blob and returns the digest of the
    /// whole partial file (SHA-256, or the git blob SHA-1 when the file is not in LFS).
    func transfer(repo: RepoID, commit: CommitID, file f: RemoteFile) throws -> (String, Bool) {
        let url = client.resolveURL(repo: repo, commit: commit, path: f.path)
        let partial = try RandomAccessFile(path: partialPath(repo, f).path)
        let journal = Journal(path: journalPath(repo, f).path)
        var done = journal.ranges(limit: f.size)
        let onDisk = try partial.size()
        // A journal that claims more than the file holds is not to be trusted.
        if done.contains(where: { $0.upperBound > onDisk }) || (onDisk > f.size) {
            done = []
            journal.reset()
            try partial.truncate(0)
        }
        let resumed = !done.isEmpty
        try partial.reserve(f.size)
        let have = done.reduce(UInt64(0)) { $0 + ($1.upperBound - $1.lowerBound) }
        progress.expect(f.path, size: f.size, alreadyHave: have)
        let missing = Journal.complement(done, size: f.size)
        let parts = split(missing, size: f.size)
        // A whole file in one stream from byte 0 is hashed while it arrives; otherwise afterwards.
        let inline = parts.count == 1 && parts[0].lowerBound == 0 && parts[0].upperBound == f.size
        let hasher = HasherBox(InlineHasher(git: f.sha256 == nil, size: f.size))
        // Ranges arrive out of order: a thread hashes the file as its contiguous prefix completes,
        // so the digest is ready right after the last byte instead of after a second pass.
        let prefix =
            inline || f.size == 0
            ? nil : PrefixHasher(path: partial.path, size: f.size, git: f.sha256 == nil, already: done)
        defer { prefix?.cancel() }
        if let prefix { journal.onRecord = { prefix.add($0) } }
        let failures = ResultSlots<Void>(count: parts.count)
        runConcurrently(parts.count, width: client.configuration.parallelRanges) { i in
            failures.set(
                i,
                Result {
                    try self.fetchRange(
                        url: url, repo: repo.description, name: f.path, range: parts[i], into: partial,
                        journal: journal,
                        hasher: inline ? { hasher.update($0) } : nil, expect: f, commit: commit.hex)
                })
        }
        var rangesIgnored = false
        for i in 0..<parts.count {
            do { try failures.get(i).get() } catch let e as HubError where e.code == .rangeIgnored {
                rangesIgnored = true
            }
        }
        if rangesIgnored {
            // The server does not do ranges: start over with one stream from byte 0.
            prefix?.cancel()
            journal.onRecord = nil
            journal.reset()
            try partial.truncate(0)
            progress.reset(f.path)
            let whole = HasherBox(InlineHasher(git: f.sha256 == nil, size: f.size))
            try fetchRange(
                url: url, repo: repo.description, name: f.path, range: 0..<f.size, into: partial, journal: journal,
                hasher: { whole.update($0) }, expect: f, commit: commit.hex)
            return (whole.finish(), resumed)
        }
        if inline && f.size > 0 { return (hasher.finish(), resumed) }
        if let digest = prefix?.finish() { return (digest, resumed) }
        Downloader.secondPassHashes.add(1)
        return (try digestOfFile(partialPath(repo, f).path, git: f.sha256 == nil, size: f.size), resumed)
    }

    /// Missing ranges cut into at most `parallelRanges` pieces for large files.
    /// The hub refuses a single GET of more than 50 GB: larger files always come in ranges.
    static let largestSingleRequest: UInt64 = 50_000_000_000
    /// No range is larger than this, whatever the parallelism (a retried range restarts less).
    static let largestRange: UInt64 = 16 << 30

    func split(_ missing: [Range<UInt64>], size: UInt64) -> [Range<UInt64>] {
        let config = client.configuration
        let mustSplit = size > Downloader.largestSingleRequest
        guard mustSplit || (size >= config.minimumSplitSize && config.parallelRanges > 1) else { return missing }
        let total = missing.reduce(UInt64(0)) { $0 + ($1.upperBound - $1.lowerBound) }
        let ways = UInt64(max(1, config.parallelRanges))
        let piece = min(Downloader.largestRange, max(config.minimumRangeSize, (total + ways - 1) / ways))
        var out: [Range<UInt64>] = []
        for r in missing {
            var s = r.lowerBound
            while s < r.upperBound {
                let e = min(r.upperBound, s + piece)
                out.append(s..<e)
                s = e
            }
        }
        return out
    }

    /// Fetches one byte range, retrying with backoff and resuming from what already arrived.
    func fetchRange(
        url: String, repo: String, name: String, range: Range<UInt64>, into file: RandomAccessFile,
        journal: Journal, hasher: ((UnsafeRawBufferPointer) -> Void)?, expect: RemoteFile? = nil, commit: String? = nil
    ) throws {
        guard !range.isEmpty else { return }
        var position = range.lowerBound
        var recorded = range.lowerBound
        var progressedSinceFailure = false
        try client.withRetries(
            url,
            progressed: {
                defer { progressedSinceFailure = false }
                return progressedSinceFailure
            }
        ) {
            guard position < range.upperBound else { return }
            var writeError: Error?
            // Whatever happens to the connection, the journal records what reached the file.
            defer {
                if position > recorded { journal.record(recorded..<position) }
                recorded = position
            }
            do {
                _ = try client.request(
                    url, repo: repo, range: position...(range.upperBound - 1), expect: expect, commit: commit
                ) { chunk in
                    // Never write past the range, whatever the server sends.
                    let n = min(UInt64(chunk.count), range.upperBound - position)
                    guard n > 0 else { return false }
                    do {
                        try file.write(UnsafeRawBufferPointer(rebasing: chunk[0..<Int(n)]), at: position)
                    } catch {
                        writeError = error
                        return false
                    }
                    hasher?(UnsafeRawBufferPointer(rebasing: chunk[0..<Int(n)]))
                    position += n
                    progressedSinceFailure = true
                    self.progress.add(name, bytes: n)
                    if position - recorded >= 8 << 20 {
                        journal.record(recorded..<position)
                        if self.client.configuration.syncBlobs {
                            file.startWriteback(offset: recorded, length: position - recorded)
                        }
                        recorded = position
                    }
                    return Int(n) == chunk.count || position < range.upperBound
                }
            } catch let e as HubError where position >= range.upperBound && writeError == nil {
                // We stopped a server that sent more than the range: the range itself is complete.
                _ = e
            }
            if let writeError {
                throw HubError(
                    .io("writing the download failed: \(writeError)"), location: file.path, cause: writeError)
            }
            if position < range.upperBound {
                // The body ended early (a dropped connection): retry from where it stopped.
                throw HubError(
                    .network(
                        "connection closed after \(position - range.lowerBound) of \(range.upperBound - range.lowerBound) bytes"
                    ), location: url)
            }
        }
    }

    func digestOfFile(_ path: String, git: Bool, size: UInt64) throws -> String {
        var h = InlineHasher(git: git, size: size)
        try ByteStorage(mapping: path).view.forEachChunk(16 << 20) { h.update($0) }
        return h.finish()
    }
}

/// SHA-256 of the content, or git's blob SHA-1 (`blob <size>\0` + content) for non-LFS files.
struct InlineHasher {
    var sha256 = SHA256()
    var sha1 = Insecure.SHA1()
    let git: Bool

    init(git: Bool, size: UInt64) {
        self.git = git
        if git { sha1.update(data: Array("blob \(size)\0".utf8)) }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if git { sha1.update(bufferPointer: bytes) } else { sha256.update(bufferPointer: bytes) }
    }

    func finish() -> String {
        let digest: [UInt8] = git ? Array(sha1.finalize()) : Array(sha256.finalize())
        return Hex.encode(digest)
    }
}

/// Hashes a stream of chunks on its own thread, so hashing overlaps receiving and writing.
/// Chunks are batched to 4 MiB; at most 8 batches wait, which bounds memory.
final class HasherBox: @unchecked Sendable {
    // `value` is touched only on `queue`; `batch` only by the single producing worker.
    private var value: InlineHasher
    private var batch: [UInt8] = []
    private let queue = DispatchQueue(label: "hasskit.hash")
    private let slots = DispatchSemaphore(value: 8)

    init(_ value: InlineHasher) {
        self.value = value
        batch.reserveCapacity(4 << 20)
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        batch.append(contentsOf: bytes)
        if batch.count >= 4 << 20 { flush() }
    }

    private func flush() {
        guard !batch.isEmpty else { return }
        let full = batch
        batch = []
        batch.reserveCapacity(4 << 20)
        slots.wait()
        queue.async {
            full.withUnsafeBytes { self.value.update($0) }
            self.slots.signal()
        }
    }

    func finish() -> String {
        flush()
        return queue.sync { value.finish() }
    }
}

/// Hashes a file that arrives in byte ranges as its contiguous prefix completes: a thread follows
/// the ranges recorded in the journal and hashes each stretch from the file (mapped once; its size
/// is reserved before the transfer starts) as soon as everything before it is in.
final class PrefixHasher: @unchecked Sendable {
    // `done` and `cancelled` are guarded by `condition`; `result` is written by the thread before
    // it signals `finished`, and read after.
    private let condition = NSCondition()
    private var done: [Range<UInt64>]
    private var cancelled = false
    private var result: String?
    private let finished = DispatchSemaphore(value: 0)
    static let chunk: UInt64 = 16 << 20

    init(path: String, size: UInt64, git: Bool, already: [Range<UInt64>]) {
        done = Journal.merge(already)
        let thread = Thread { [self] in
            defer { finished.signal() }
            result = hash(path: path, size: size, git: git)
        }
        thread.start()
    }

    func add(_ r: Range<UInt64>) {
        condition.lock()
        done = Journal.merge(done + [r])
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread (a failed or restarted transfer) and waits until it has: the file may be
    /// truncated right after, and a read of its mapping past the new end is a SIGBUS. Harmless
    /// after `finish`.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.signal()
        condition.unlock()
        _ = finish()
    }

    private var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Waits for the whole file to be hashed: the digest, or nil when cancelled or unreadable.
    func finish() -> String? {
        finished.wait()
        finished.signal()  // later callers (cancel's defer, a second finish) do not block
        return result
    }

    private func hash(path: String, size: UInt64, git: Bool) -> String? {
        guard let view = try? ByteStorage(mapping: path).view, UInt64(view.count) >= size else { return nil }
        var h = InlineHasher(git: git, size: size)
        var next: UInt64 = 0
        while next < size {
            condition.lock()
            var end = next
            while end == next {
                if cancelled {
                    condition.unlock()
                    return nil
                }
                if let r = done.first(where: { $0.lowerBound <= next && $0.upperBound > next }) {
                    end = min(r.upperBound, size)
                } else {
                    condition.wait()
                }
            }
            condition.unlock()
            // A chunk at a time, so that a cancel waits for one chunk, not for a whole stretch.
            while next < end {
                if isCancelled { return nil }
                let n = min(end - next, PrefixHasher.chunk)
                view.slice(start: Int(next), length: Int(n))?.forEachChunk(Int(n)) { h.update($0) }
                next += n
            }
        }
        return h.finish()
    }
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add(_ n: Int) {
        lock.lock()
        value += n
        lock.unlock()
    }
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}

/// The resume journal of one partial blob: lines `START END` of byte ranges already written.
final class Journal: @unchecked Sendable {
    // Appends are serialised by `lock`; `onRecord` is set before any transfer starts.
    let path: String
    private let lock = NSLock()
    /// Told of every range recorded (the prefix hasher follows the download with it).
    var onRecord: (@Sendable (Range<UInt64>) -> Void)?

    init(path: String) {
        self.path = path
    }

    func ranges(limit: UInt64) -> [Range<UInt64>] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var out: [Range<UInt64>] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let s = UInt64(parts[0]), let e = UInt64(parts[1]), s < e, e <= limit else {
                continue
            }
            out.append(s..<e)
        }
        return Journal.merge(out)
    }

    func doneBytes(limit: UInt64) -> UInt64 { ranges(limit: limit).reduce(0) { $0 + ($1.upperBound - $1.lowerBound) } }

    func record(_ r: Range<UInt64>) {
        guard !r.isEmpty else { return }
        onRecord?(r)
        lock.lock()
        defer { lock.unlock() }
        let line = "\(r.lowerBound) \(r.upperBound)\n"
        if let h = FileHandle(forWritingAtPath: path) {
            h.seekToEndOfFile()
            h.write(Data(line.utf8))
            try? h.close()
        } else {
            FileManager.default.createFile(atPath: path, contents: Data(line.utf8))
        }
    }

    func reset() {
        lock.lock()
        try? FileManager.default.removeItem(atPath: path)
        lock.unlock()
    }

    static func merge(_ ranges: [Range<UInt64>]) -> [Range<UInt64>] {
        var out: [Range<UInt64>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, r.lowerBound <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    static func complement(_ done: [Range<UInt64>], size: UInt64) -> [Range<UInt64>] {
        var out: [Range<UInt64>] = []
        var cursor: UInt64 = 0
        for r in merge(done) {
            if r.lowerBound > cursor { out.append(cursor..<r.lowerBound) }
            cursor = max(cursor, r.upperBound)
        }
        if cursor < size { out.append(cursor..<size) }
        return out
    }
}

/// Runs `body(0..<count)` on up to `width` threads at once and waits for all. Transfers block on
/// the network, so they get threads of their own rather than `concurrentPerform`, whose width is
/// the number of cores (nested, it ran the ranges of a file one after another).
func runConcurrently(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 0 else { return }
    if count == 1 {
        body(0)
        return
    }
    let gate = DispatchSemaphore(value: max(1, width))
    let group = DispatchGroup()
    for i in 0..<count {
        gate.wait()
        group.enter()
        let t = Thread {
            body(i)
            gate.signal()
            group.leave()
        }
        t.stackSize = 1 << 20
        t.start()
    }
    group.wait()
}

/// Results written by concurrent workers, one slot each.
final class ResultSlots<T>: @unchecked Sendable {
    // Each index is written by exactly one worker before the concurrent section ends.
    private var slots: [Result<T, Error>?]
    private let lock = NSLock()

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func set(_ i: Int, _ r: Result<T, Error>) {
        lock.lock()
        slots[i] = r
        lock.unlock()
    }

    func get(_ i: Int) -> Result<T, Error> {
        lock.lock()
        defer { lock.unlock() }
        return slots[i] ?? .failure(HubError(.io("worker produced no result"), location: ""))
    }
}
