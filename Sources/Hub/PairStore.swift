import CacheLayout
import Foundation
import Platform
import Registry
import StrictJSON

/// What a pull pinned: per member, the commit and every file with its size and hash. Later pulls
/// and `verify` hold the files to it. Stored as `$HASSKIT_HOME/pairs/<id>/lock.json`.
public struct PairLock: Sendable, Equatable {
    /// What a locked repository is to the pull: a pair's base or draft, or a lone repository.
    public enum Role: String, Sendable, CaseIterable {
        case base, draft, repo
    }

    public struct Member: Sendable, Equatable {
        public var role: Role
        public var repo: RepoID
        public var revision: Revision
        public var commit: CommitID
        public var files: [RemoteFile]
        /// Each blob's size and modification time (ns) when the pull ended, by file path: a later
        /// pull re-hashes a blob whose size or time changed (damage of the same size included).
        public var blobStamps: [String: BlobStamp] = [:]
    }

    public struct BlobStamp: Sendable, Equatable {
        public var size: UInt64
        public var mtimeNanoseconds: Int64
    }

    public var id: String
    public var members: [Member]

    public var json: JSONValue {
        .object([
            ("pair", .string(id)),
            (
                "members",
                .array(
                    members.map { m in
                        .object([
                            ("role", .string(m.role.rawValue)), ("repo", .string(m.repo.description)),
                            ("revision", .string(m.revision.name)),
                            ("commit", .string(m.commit.hex)),
                            (
                                "files",
                                .array(
                                    m.files.map { f in
                                        .object(
                                            [
                                                ("path", .string(f.path)), ("size", .int(f.size)),
                                                ("sha256", f.sha256.map { .string($0) } ?? .null),
                                                ("git_oid", .string(f.gitOID)),
                                            ]
                                                + (m.blobStamps[f.path].map {
                                                    [("blob_mtime_ns", JSONValue.int($0.mtimeNanoseconds))]
                                                } ?? []))
                                    })
                            ),
                        ])
                    })
            ),
        ])
    }

    public init(id: String, members: [Member]) {
        self.id = id
        self.members = members
    }

    /// Reads a lock file. Every name in it is checked again as if it came from the hub: a lock is a
    /// file on disk that anyone could have edited, and its names become paths in the cache.
    init(json: JSONValue, path: String) throws {
        func bad(_ m: String) -> HubError { HubError(.badLock(m), location: path) }
        guard let id = json["pair"]?.stringValue, let members = json["members"]?.arrayValue else {
            throw bad("missing pair or members")
        }
        self.id = id
        self.members = try members.map { m in
            guard let role = m["role"]?.stringValue.flatMap(Role.init(rawValue:)), let repo = m["repo"]?.stringValue,
                let revision = m["revision"]?.stringValue,
                let commit = m["commit"]?.stringValue, let files = m["files"]?.arrayValue
            else {
                throw bad("incomplete member")
            }
            do {
                var stamps: [String: BlobStamp] = [:]
                let remote = try files.map { f in
                    guard let path = f["path"]?.stringValue, let size = f["size"]?.uint64Value,
                        let oid = f["git_oid"]?.stringValue
                    else {
                        throw bad("incomplete file entry")
                    }
                    if let t = f["blob_mtime_ns"]?.int64Value {
                        stamps[path] = BlobStamp(size: size, mtimeNanoseconds: t)
                    }
                    return try RemoteFile(path: path, size: size, sha256: f["sha256"]?.stringValue, gitOID: oid)
                }
                return Member(
                    role: role, repo: try RepoID(repo), revision: try Revision(revision), commit: try CommitID(commit),
                    files: remote,
                    blobStamps: stamps)
            } catch let e as LayoutError {
                throw bad(e.description)
            }
        }
    }
}

/// hasskit's own store under `$HASSKIT_HOME`: one folder per pair (lock file, later converted files).
public struct PairStore: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// Folder name for a pair id or a plain `org/name` repo.
    public static func key(_ id: String) -> String { id.replacingOccurrences(of: "/", with: "--") }

    public func folder(_ id: String) -> String { root + "/pairs/" + PairStore.key(id) }
    public func lockPath(_ id: String) -> String { folder(id) + "/lock.json" }

    public func lock(_ id: String) throws -> PairLock? {
        let path = lockPath(id)
        guard FileSystem.kind(of: path) == .file else { return nil }
        return try PairLock(json: try JSONParser().parse(try FileSystem.readFile(path)), path: path)
    }

    public func save(_ lock: PairLock) throws {
        try FileSystem.createDirectory(folder(lock.id))
        let w = try AtomicFileWriter(path: lockPath(lock.id))
        try w.write(Array(lock.json.serialized(pretty: true).utf8) + [0x0A])
        try w.commit()
    }

    public func removeLock(_ id: String) {
        try? FileManager.default.removeItem(atPath: folder(id))
    }
}
