import CacheLayout
import StrictJSON

/// What `pull --dry-run` found: the plan of a pull, with nothing written.
public struct PullPlan: Sendable {
    /// Whether the token in use may read a repository's files.
    public enum Access: Sendable, Equatable {
        case granted
        /// The hub refused; the message says why and what to do.
        case denied(String)
        /// No file to ask about.
        case notChecked
    }

    public struct File: Sendable, Equatable {
        public var path: String
        public var size: UInt64
        public var cached: Bool
    }

    public struct Member: Sendable {
        public var role: PairLock.Role
        public var repo: RepoID
        public var revision: Revision
        public var commit: CommitID
        /// nil when the repository is not gated; else how access is granted (`auto`, `manual`).
        public var gated: String?
        public var access: Access
        public var files: [File]
    }

    public var id: String
    public var members: [Member]
    /// Bytes of every distinct blob the pull covers.
    public var bytesTotal: UInt64
    /// Bytes still to download (distinct blobs not in the cache, less what partial files hold).
    public var bytesToFetch: UInt64
    /// Free space kept beyond the download.
    public var margin: UInt64
    public var available: UInt64?
    public var cacheFolder: String

    /// The download fits the disk with the margin (unknown counts as fitting).
    public var fits: Bool { available.map { bytesToFetch == 0 || $0 >= bytesToFetch + margin } ?? true }

    public var json: JSONValue {
        .object([
            ("pair", .string(id)),
            (
                "members",
                .array(
                    members.map { m in
                        var access: [(String, JSONValue)]
                        switch m.access {
                        case .granted: access = [("access", .string("granted"))]
                        case let .denied(why):
                            access = [("access", .string("denied")), ("access_detail", .string(why))]
                        case .notChecked: access = [("access", .string("not checked"))]
                        }
                        return .object(
                            [
                                ("role", .string(m.role.rawValue)), ("repo", .string(m.repo.description)),
                                ("revision", .string(m.revision.name)),
                                ("commit", .string(m.commit.hex)),
                                ("gated", m.gated.map { .string($0) } ?? .bool(false)),
                            ] + access + [
                                (
                                    "files",
                                    .array(
                                        m.files.map { f in
                                            .object([
                                                ("path", .string(f.path)), ("bytes", .int(f.size)),
                                                ("cached", .bool(f.cached)),
                                            ])
                                        })
                                )
                            ])
                    })
            ),
            ("bytes_total", .int(bytesTotal)), ("bytes_to_fetch", .int(bytesToFetch)),
            ("space_needed", .int(bytesToFetch == 0 ? 0 : bytesToFetch + margin)), ("margin", .int(margin)),
            ("space_available", available.map { .int($0) } ?? .null), ("fits", .bool(fits)),
            ("cache", .string(cacheFolder)),
        ])
    }
}
