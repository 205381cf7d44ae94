import Crypto
import Dispatch
import Platform

/// Hashes files with SHA-256 on a background thread, 64 MiB at a time, dropping each chunk from
/// the resident set once hashed.
final class SourceHasher: @unchecked Sendable {
    // `result` is written once on the background thread before `group` leaves, and read after wait.
    private let group = DispatchGroup()
    private var result: Result<[String], Error> = .success([])

    init(files: [String]) {
        guard !files.isEmpty else { return }
        group.enter()
        DispatchQueue.global().async {
            defer { self.group.leave() }
            self.result = Result {
                try files.map { path in
                    var hasher = SHA256()
                    try ByteStorage(mapping: path).view.forEachChunk(64 << 20) { hasher.update(bufferPointer: $0) }
                    return Hex.encode(hasher.finalize())
                }
            }
        }
    }

    func wait() throws -> [String] {
        group.wait()
        return try result.get()
    }
}
