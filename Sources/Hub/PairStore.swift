import Foundation
import Platform
import Registry
import StrictJSON

/// What a pull pinned: per member, the commit and every file with its size and hash. Later pulls
/// and `verify` hold the files to it. Stored as `$HASSKIT_HOME/pairs/<id>/lock.json`.
public struct PairLock: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var role: String
        public var repo: String
        public var revision: String
        public var commit: String
        public var files: [RemoteFile]
    }

    public var id: String
    public var members: [Member]

    public var json: JSONValue {
        .object([
            ("pair", .string(id)),
            ("members", .array(members.map { m in
                .object([
                    ("role", .string(m.role)), ("repo", .string(m.repo)), ("revision", .string(m.revision)), ("commit", .string(m.commit)),
                    ("files", .array(m.files.map { f in
                        .object([("path", .string(f.path)), ("size", .int(f.size)), ("sha256", f.sha256.map { .string($0) } ?? .null),
                                 ("git_oid", .string(f.gitOID))])
                    })),
                ])
            })),
        ])
    }

    public init(id: String, members: [Member]) {
        self.id = id
        self.members = members
    }

    init(json: JSONValue, path: String) throws {
        func bad(_ m: String) -> HubError { HubError(.protocolViolation("lock file: \(m)"), location: path) }
        guard let id = json["pair"]?.stringValue, let members = json["members"]?.arrayValue else { throw bad("missing pair or members") }
        self.id = id
        self.members = try members.map { m in
            guard let role = m["role"]?.stringValue, let repo = m["repo"]?.stringValue, let revision = m["revision"]?.stringValue,
                  let commit = m["commit"]?.stringValue, HFCache.isCommit(commit), let files = m["files"]?.arrayValue else {
                throw bad("incomplete member")
            }
            return Member(role: role, repo: repo, revision: revision, commit: commit, files: try files.map { f in
                guard let path = f["path"]?.stringValue, HFCache.isSafeRepoPath(path), let size = f["size"]?.uint64Value,
                      let oid = f["git_oid"]?.stringValue else { throw bad("incomplete file entry") }
                return RemoteFile(path: path, size: size, sha256: f["sha256"]?.stringValue, gitOID: oid)
            })
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
        try FileManager.default.createDirectory(atPath: folder(lock.id), withIntermediateDirectories: true)
        let w = try AtomicFileWriter(path: lockPath(lock.id))
        try w.write(Array(lock.json.serialized(pretty: true).utf8) + [0x0A])
        try w.commit()
    }

    public func removeLock(_ id: String) {
        try? FileManager.default.removeItem(atPath: folder(id))
    }
}
