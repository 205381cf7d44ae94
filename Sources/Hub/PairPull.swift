import Foundation
import Platform
import Registry

#if canImport(Glibc)
import Glibc
#endif

/// What `hasskit pull` fetches: a registry pair (base and draft) or a single repository.
public enum PullTarget: Sendable {
    case pair(Manifest)
    case repo(String)

    public var id: String {
        switch self {
        case let .pair(m): return m.id
        case let .repo(r): return r
        }
    }
}

/// Options of a pull.
public struct PullOptions: Sendable {
    /// Overrides the revision of every member (and re-pins the lock).
    public var revision: String?
    public var include: [String] = []
    public var exclude: [String] = []
    /// Also place the files under this folder (`base/` and `draft/` for a pair).
    public var localDir: String?
    public init() {}
}

public struct PullSummary: Sendable {
    public var id: String
    public var files: [FetchedFile]
    public var bytesDownloaded: UInt64
    public var seconds: Double
    public var lock: PairLock
}

/// `pull`, `verify` and `rm` over the hub cache and the pair store.
public struct PairOperations: Sendable {
    public let client: HubClient
    public let cache: HFCache
    public let store: PairStore

    public init(client: HubClient) {
        self.client = client
        cache = HFCache(root: client.environment.cacheDirectory)
        store = PairStore(root: client.environment.hasskitHome)
    }

    struct Member {
        var role: String
        var repo: String
        var revision: String
        var include: [String]
    }

    func members(_ target: PullTarget) -> [Member] {
        switch target {
        case let .pair(m):
            return [Member(role: "base", repo: m.base.repo, revision: m.base.revision, include: m.base.include),
                    Member(role: "draft", repo: m.draft.repo, revision: m.draft.revision, include: m.draft.include)]
        case let .repo(r):
            return [Member(role: "repo", repo: r, revision: "main", include: ["*"])]
        }
    }

    /// `fnmatch` without FNM_PATHNAME: `*` matches across `/`, as `hf download` globs do.
    static func matches(_ path: String, _ pattern: String) -> Bool {
        let p = pattern.hasSuffix("/") ? pattern + "*" : pattern
        return fnmatch(p, path, 0) == 0
    }

    public func pull(_ target: PullTarget, options: PullOptions, progress: DownloadProgress) throws -> PullSummary {
        let started = Date()
        let previous = try store.lock(target.id)
        if client.environment.offline {
            // Offline: succeed only when the locked files are all present.
            guard let previous, options.revision == nil else {
                throw HubError(.offline("\(target.id) has not been pulled yet (no lock file), or --revision needs the network"), location: target.id)
            }
            var files: [FetchedFile] = []
            for m in previous.members {
                for f in m.files {
                    let path = cache.snapshotFile(m.repo, commit: m.commit, path: f.path)
                    guard FileSystem.kind(of: path) == .file, (try? FileSystem.size(of: path)) == f.size else {
                        throw HubError(.offline("\(m.repo)/\(f.path) is not in the cache"), location: path)
                    }
                    files.append(FetchedFile(repo: m.repo, path: f.path, bytes: f.size, sha256: f.sha256, status: .cached))
                }
            }
            return PullSummary(id: target.id, files: files, bytesDownloaded: 0, seconds: Date().timeIntervalSince(started), lock: previous)
        }
        var lockMembers: [PairLock.Member] = []
        var fetched: [FetchedFile] = []
        let downloader = Downloader(client: client, cache: cache, progress: progress)
        for m in members(target) {
            let revision = options.revision ?? m.revision
            let pinned = previous?.members.first { $0.role == m.role && $0.repo == m.repo }
            // Hold to the lock unless the user asked for a revision explicitly.
            let commit: String
            if let pinned, options.revision == nil {
                commit = pinned.commit
            } else {
                commit = try client.resolveCommit(repo: m.repo, revision: revision)
            }
            var files = try client.listFiles(repo: m.repo, commit: commit)
            let include = options.include.isEmpty ? m.include : m.include + options.include
            files = files.filter { f in
                include.contains { PairOperations.matches(f.path, $0) } && !options.exclude.contains { PairOperations.matches(f.path, $0) }
                    && !f.path.hasPrefix(".git") && !f.path.hasPrefix(".cache/huggingface")
            }
            guard !files.isEmpty else {
                throw HubError(.notFound("no files of \(m.repo)@\(commit.prefix(8)) match \(include.joined(separator: ", "))"), location: m.repo)
            }
            if let pinned, pinned.commit == commit {
                for f in files {
                    if let locked = pinned.files.first(where: { $0.path == f.path }), locked != f {
                        throw HubError(.integrity(file: "\(m.repo)/\(f.path)", expected: locked.etag, found: f.etag), location: store.lockPath(target.id))
                    }
                }
            }
            fetched += try downloader.fetch(repo: m.repo, commit: commit, files: files)
            try cache.setRef(revision, commit: commit, repo: m.repo)
            lockMembers.append(PairLock.Member(role: m.role, repo: m.repo, revision: revision, commit: commit, files: files))
            if let dir = options.localDir {
                let target = m.role == "repo" ? dir : dir + "/" + m.role
                try place(files, repo: m.repo, commit: commit, into: target)
            }
        }
        let lock = PairLock(id: target.id, members: lockMembers)
        try store.save(lock)
        progress.finish()
        return PullSummary(id: target.id, files: fetched, bytesDownloaded: progress.bytesFetched,
                           seconds: Date().timeIntervalSince(started), lock: lock)
    }

    /// The snapshot folders of a pulled pair, by role (`base`, `draft`, or `repo`).
    public func snapshots(_ id: String) throws -> [String: String] {
        guard let lock = try store.lock(id) else { throw HubError(.notFound("\(id) has not been pulled (run hasskit pull \(id))"), location: store.lockPath(id)) }
        var out: [String: String] = [:]
        for m in lock.members { out[m.role] = cache.snapshot(m.repo, commit: m.commit) }
        return out
    }

    /// Puts the files under `dir` as hard links to the blobs (copies across file systems).
    func place(_ files: [RemoteFile], repo: String, commit: String, into dir: String) throws {
        for f in files {
            let dest = dir + "/" + f.path
            try FileManager.default.createDirectory(atPath: FileSystem.split(dest).directory, withIntermediateDirectories: true)
            let blob = cache.blob(repo, etag: f.etag)
            try? FileManager.default.removeItem(atPath: dest)
            if link(blob, dest) != 0 { try FileManager.default.copyItem(atPath: blob, toPath: dest) }
        }
    }

    /// Re-hashes every locked file of a pair in the cache.
    public func verify(_ id: String) throws -> [(repo: String, path: String, ok: Bool, detail: String)] {
        guard let lock = try store.lock(id) else { throw HubError(.notFound("\(id) has not been pulled (no lock file)"), location: store.lockPath(id)) }
        let downloader = Downloader(client: client, cache: cache, progress: DownloadProgress(style: .quiet, write: { _ in }))
        var out: [(String, String, Bool, String)] = []
        for m in lock.members {
            for f in m.files {
                let path = cache.snapshotFile(m.repo, commit: m.commit, path: f.path)
                guard FileSystem.kind(of: path) == .file else {
                    out.append((m.repo, f.path, false, "missing"))
                    continue
                }
                let size = (try? FileSystem.size(of: path)) ?? 0
                guard size == f.size else {
                    out.append((m.repo, f.path, false, "size \(size), expected \(f.size)"))
                    continue
                }
                let digest = try downloader.digestOfFile(path, git: f.sha256 == nil, size: f.size)
                out.append((m.repo, f.path, digest == f.etag, digest == f.etag ? "ok" : "hash \(digest), expected \(f.etag)"))
            }
        }
        return out
    }

    /// Removes a pair's snapshots and the blobs no other snapshot uses; returns the bytes freed.
    public func remove(_ id: String) throws -> UInt64 {
        guard let lock = try store.lock(id) else { throw HubError(.notFound("\(id) has not been pulled (no lock file)"), location: store.lockPath(id)) }
        var freed: UInt64 = 0
        for m in lock.members {
            let repoDir = cache.repoFolder(m.repo)
            try? FileManager.default.removeItem(atPath: cache.snapshot(m.repo, commit: m.commit))
            // Blobs still referenced by any remaining snapshot stay.
            var referenced = Set<String>()
            let snapshots = (try? FileManager.default.subpathsOfDirectory(atPath: repoDir + "/snapshots")) ?? []
            for sub in snapshots {
                if let target = FileSystem.symlinkTarget(repoDir + "/snapshots/" + sub), let name = target.split(separator: "/").last {
                    referenced.insert(String(name))
                }
            }
            for f in m.files where !referenced.contains(f.etag) {
                let blob = cache.blob(m.repo, etag: f.etag)
                freed += (try? FileSystem.size(of: blob)) ?? 0
                try? FileManager.default.removeItem(atPath: blob)
            }
            let refs = (try? FileManager.default.subpathsOfDirectory(atPath: repoDir + "/refs")) ?? []
            for r in refs where cache.commit(for: r, repo: m.repo) == m.commit {
                try? FileManager.default.removeItem(atPath: repoDir + "/refs/" + r)
            }
        }
        store.removeLock(id)
        return freed
    }
}
