import CacheLayout
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
        var role: PairLock.Role
        var repo: RepoID
        var revision: Revision
        var include: [String]
    }

    /// The repositories a target names, every id and revision checked (a manifest's were checked
    /// when it was read; a revision given on the command line is checked here too).
    func members(_ target: PullTarget, revision override: String?) throws -> [Member] {
        let override = try override.map { try Revision($0) }
        switch target {
        case let .pair(m):
            return [
                Member(
                    role: .base, repo: try RepoID(m.base.repo), revision: try override ?? Revision(m.base.revision),
                    include: m.base.include),
                Member(
                    role: .draft, repo: try RepoID(m.draft.repo), revision: try override ?? Revision(m.draft.revision),
                    include: m.draft.include),
            ]
        case let .repo(r):
            return [
                Member(role: .repo, repo: try RepoID(r), revision: try override ?? Revision("main"), include: ["*"])
            ]
        }
    }

    /// One repository of a pull, resolved and listed, before any byte is fetched.
    struct PlannedMember {
        var member: Member
        var commit: CommitID
        var files: [RemoteFile]
    }

    /// `fnmatch` without FNM_PATHNAME: `*` matches across `/`, as `hf download` globs do.
    public static func matches(_ path: String, _ pattern: String) -> Bool {
        let p = pattern.hasSuffix("/") ? pattern + "*" : pattern
        return fnmatch(p, path, 0) == 0
    }

    public func pull(_ target: PullTarget, options: PullOptions, progress: DownloadProgress) throws -> PullSummary {
        let started = Date()
        let previous = try store.lock(target.id)
        if client.environment.offline {
            // Offline: succeed only when the locked files are all present.
            guard let previous, options.revision == nil else {
                throw HubError(
                    .offline("\(target.id) has not been pulled yet (no lock file), or --revision needs the network"),
                    location: target.id)
            }
            var files: [FetchedFile] = []
            for m in previous.members {
                for f in m.files {
                    let path = cache.layout.snapshotFile(m.repo, m.commit, f.file).path
                    guard FileSystem.kind(of: path) == .file, (try? FileSystem.size(of: path)) == f.size else {
                        throw HubError(.offline("\(m.repo)/\(f.path) is not in the cache"), location: path)
                    }
                    files.append(
                        FetchedFile(
                            repo: m.repo.description, path: f.path, bytes: f.size, sha256: f.sha256, status: .cached))
                }
            }
            return PullSummary(
                id: target.id, files: files, bytesDownloaded: 0, seconds: Date().timeIntervalSince(started),
                lock: previous)
        }
        let plan = try planMembers(target, options: options, previous: previous)
        var lockMembers: [PairLock.Member] = []
        var fetched: [FetchedFile] = []
        let downloader = Downloader(client: client, cache: cache, progress: progress)
        for p in plan {
            let m = p.member
            let pinned = previous?.members.first { $0.role == m.role && $0.repo == m.repo }
            try dropChangedBlobs(p, stamps: pinned?.blobStamps ?? [:], downloader: downloader)
            fetched += try downloader.fetch(repo: m.repo, commit: p.commit, files: p.files)
            try cache.setRef(m.revision, commit: p.commit, repo: m.repo)
            lockMembers.append(
                PairLock.Member(
                    role: m.role, repo: m.repo, revision: m.revision, commit: p.commit, files: p.files,
                    blobStamps: stamps(p)))
            if let dir = options.localDir {
                let target = m.role == .repo ? dir : dir + "/" + m.role.rawValue
                try place(p.files, repo: m.repo, commit: p.commit, into: target)
            }
        }
        let lock = PairLock(id: target.id, members: lockMembers)
        try store.save(lock)
        progress.finish()
        return PullSummary(
            id: target.id, files: fetched, bytesDownloaded: progress.bytesFetched,
            seconds: Date().timeIntervalSince(started), lock: lock)
    }

    /// Every repository of a target resolved (or held to the lock) and listed, before anything is
    /// written, so a listing that is refused (unsafe names, not a tree) or a member that fails to
    /// resolve leaves no trace.
    func planMembers(_ target: PullTarget, options: PullOptions, previous: PairLock?) throws -> [PlannedMember] {
        var plan: [PlannedMember] = []
        for m in try members(target, revision: options.revision) {
            let pinned = previous?.members.first { $0.role == m.role && $0.repo == m.repo }
            // Hold to the lock unless the user asked for a revision explicitly.
            let commit: CommitID
            if let pinned, options.revision == nil {
                commit = pinned.commit
            } else {
                commit = try client.resolveCommit(repo: m.repo, revision: m.revision)
            }
            var files = try client.listFiles(repo: m.repo, commit: commit)
            let include = options.include.isEmpty ? m.include : m.include + options.include
            files = files.filter { f in
                include.contains { PairOperations.matches(f.path, $0) }
                    && !options.exclude.contains { PairOperations.matches(f.path, $0) }
                    && !f.path.hasPrefix(".git") && !f.path.hasPrefix(".cache/huggingface")
            }
            guard !files.isEmpty else {
                throw HubError(
                    .notFound("no files of \(m.repo)@\(commit.hex.prefix(8)) match \(include.joined(separator: ", "))"),
                    location: m.repo.description)
            }
            if let pinned, pinned.commit == commit {
                for f in files {
                    if let locked = pinned.files.first(where: { $0.path == f.path }), locked != f {
                        throw HubError(
                            .integrity(file: "\(m.repo)/\(f.path)", expected: locked.etag, found: f.etag),
                            location: store.lockPath(target.id))
                    }
                }
            }
            plan.append(PlannedMember(member: m, commit: commit, files: files))
        }
        return plan
    }

    /// `pull --dry-run`: what a pull would fetch, decided from the hub and the cache with nothing
    /// written: each repository's commit, whether it is gated and whether the token in use may
    /// read its files (one byte is asked for, as a pull does before reserving space), each file's
    /// size and whether it is already in the cache, and the disk space needed (shared blobs
    /// counted once, bytes already in partial files not counted) against what is available.
    public func dryRun(_ target: PullTarget, options: PullOptions) throws -> PullPlan {
        let previous = try store.lock(target.id)
        let plan = try planMembers(target, options: options, previous: previous)
        var members: [PullPlan.Member] = []
        var seen = Set<String>()
        var total: UInt64 = 0, toFetch: UInt64 = 0
        let downloader = Downloader(client: client, cache: cache, progress: DownloadProgress(style: .quiet) { _ in })
        for p in plan {
            let gated = try client.gatedStatus(repo: p.member.repo, commit: p.commit)
            var access = PullPlan.Access.notChecked
            if let probe = p.files.first(where: { $0.size > 0 }) {
                do {
                    try client.checkAccess(repo: p.member.repo, commit: p.commit, file: probe)
                    access = .granted
                } catch let e as HubError where e.isAccessDenial {
                    access = .denied(e.description)
                }
            }
            var files: [PullPlan.File] = []
            for f in p.files {
                let cached = downloader.blobIsComplete(p.member.repo, f)
                files.append(PullPlan.File(path: f.path, size: f.size, cached: cached))
                guard seen.insert(p.member.repo.description + "/" + f.etag).inserted else { continue }
                total += f.size
                if !cached {
                    let partial = downloader.journalPath(p.member.repo, f).path
                    toFetch += f.size - min(f.size, Journal(path: partial).doneBytes(limit: f.size))
                }
            }
            members.append(
                PullPlan.Member(
                    role: p.member.role, repo: p.member.repo, revision: p.member.revision,
                    commit: p.commit, gated: gated, access: access, files: files))
        }
        return PullPlan(
            id: target.id, members: members, bytesTotal: total, bytesToFetch: toFetch,
            margin: Downloader.spaceMargin, available: FileSystem.availableSpaceOfNearestFolder(cache.root),
            cacheFolder: cache.root)
    }

    /// Blobs whose size or modification time differ from what the lock recorded are hashed again,
    /// and removed when their bytes are no longer the file's (so `fetch` downloads them again):
    /// a blob damaged in place is not "already present".
    func dropChangedBlobs(_ p: PlannedMember, stamps: [String: PairLock.BlobStamp], downloader: Downloader) throws {
        for f in p.files {
            let blob = cache.layout.blob(p.member.repo, f.blob).path
            guard let stamp = stamps[f.path], FileSystem.kind(of: blob) == .file else { continue }
            let size = (try? FileSystem.size(of: blob)) ?? 0
            let time = (try? FileSystem.modificationTime(of: blob)) ?? 0
            if size == stamp.size && time == stamp.mtimeNanoseconds { continue }
            let intact =
                try size == f.size && downloader.digestOfFile(blob, git: f.sha256 == nil, size: f.size) == f.etag
            if !intact { try FileSystem.removeFile(blob) }
        }
    }

    /// Size and time of each blob of a finished pull, for the lock.
    func stamps(_ p: PlannedMember) -> [String: PairLock.BlobStamp] {
        var out: [String: PairLock.BlobStamp] = [:]
        for f in p.files {
            let blob = cache.layout.blob(p.member.repo, f.blob).path
            if let size = try? FileSystem.size(of: blob), let time = try? FileSystem.modificationTime(of: blob) {
                out[f.path] = PairLock.BlobStamp(size: size, mtimeNanoseconds: time)
            }
        }
        return out
    }

    /// The snapshot folders of a pulled pair, by role.
    public func snapshots(_ id: String) throws -> [PairLock.Role: String] {
        guard let lock = try store.lock(id) else {
            throw HubError(
                .notFound("\(id) has not been pulled (run hasskit pull \(id))"), location: store.lockPath(id))
        }
        var out: [PairLock.Role: String] = [:]
        for m in lock.members { out[m.role] = cache.layout.snapshot(m.repo, m.commit).path }
        return out
    }

    /// Puts the files under `dir` as hard links to the blobs (copies across file systems).
    func place(_ files: [RemoteFile], repo: RepoID, commit: CommitID, into dir: String) throws {
        for f in files {
            // f.path is a checked relative path (no .., no leading /): it stays under `dir`.
            let dest = dir + "/" + f.path
            try FileSystem.createDirectory(FileSystem.split(dest).directory)
            let blob = cache.layout.blob(repo, f.blob).path
            try? FileManager.default.removeItem(atPath: dest)
            if link(blob, dest) != 0 { try FileSystem.copyFile(blob, to: dest) }
        }
    }

    /// One file's state after `verify`.
    public struct VerifiedFile: Sendable {
        public var repoID: RepoID
        public var commit: CommitID
        public var file: RemoteFile
        public var ok: Bool
        /// `ok`, `missing`, `size …`, `hash …`, or after a repair `repaired`.
        public var detail: String

        public var repo: String { repoID.description }
        public var path: String { file.path }
    }

    /// Re-hashes every locked file of a pair in the cache.
    public func verify(_ id: String) throws -> [VerifiedFile] {
        guard let lock = try store.lock(id) else {
            throw HubError(.notFound("\(id) has not been pulled (no lock file)"), location: store.lockPath(id))
        }
        let downloader = Downloader(
            client: client, cache: cache, progress: DownloadProgress(style: .quiet, write: { _ in }))
        var out: [VerifiedFile] = []
        for m in lock.members {
            for f in m.files {
                func result(_ ok: Bool, _ detail: String) -> VerifiedFile {
                    VerifiedFile(repoID: m.repo, commit: m.commit, file: f, ok: ok, detail: detail)
                }
                let path = cache.layout.snapshotFile(m.repo, m.commit, f.file).path
                guard FileSystem.kind(of: path) == .file else {
                    out.append(result(false, "missing"))
                    continue
                }
                let size = (try? FileSystem.size(of: path)) ?? 0
                guard size == f.size else {
                    out.append(result(false, "size \(size), expected \(f.size)"))
                    continue
                }
                let digest = try downloader.digestOfFile(path, git: f.sha256 == nil, size: f.size)
                out.append(result(digest == f.etag, digest == f.etag ? "ok" : "hash \(digest), expected \(f.etag)"))
            }
        }
        return out
    }

    /// `verify --repair`: fetches again, from the locked commit, every file `verify` found damaged
    /// or missing. The damaged blob is removed first (its bytes are wrong whatever else links to
    /// them); the download goes through the same checked path as `pull`.
    public func repair(_ results: [VerifiedFile], progress: DownloadProgress) throws -> [VerifiedFile] {
        if client.environment.offline {
            throw HubError(.offline("repairing needs the network"), location: results.first { !$0.ok }?.repo ?? "")
        }
        var out = results
        let damaged = results.enumerated().filter { !$0.element.ok }
        let downloader = Downloader(client: client, cache: cache, progress: progress)
        for (key, group) in Dictionary(grouping: damaged, by: { "\($0.element.repoID) \($0.element.commit)" }).sorted(
            by: { $0.key < $1.key })
        {
            _ = key
            let first = group[0].element
            for (_, r) in group {
                try? FileManager.default.removeItem(atPath: cache.layout.blob(r.repoID, r.file.blob).path)
            }
            _ = try downloader.fetch(repo: first.repoID, commit: first.commit, files: group.map(\.element.file))
            for (i, _) in group {
                out[i].ok = true
                out[i].detail = "repaired"
            }
        }
        progress.finish()
        return out
    }

    /// What a pulled pair occupies on disk: its blobs (each distinct blob once, even when both
    /// members or two pairs' files share it within a repository) and the converted `.hkw` files in
    /// its store folder. nil when it has not been pulled.
    public func diskUsage(_ id: String) throws -> (downloaded: UInt64, converted: UInt64)? {
        guard let lock = try store.lock(id) else { return nil }
        var seen = Set<String>()
        var downloaded: UInt64 = 0
        for m in lock.members {
            for f in m.files where seen.insert(m.repo.description + "/" + f.etag).inserted {
                downloaded += (try? FileSystem.size(of: cache.layout.blob(m.repo, f.blob).path)) ?? 0
            }
        }
        let folder = store.folder(id)
        let converted = ((try? FileSystem.contents(of: folder)) ?? []).filter { $0.hasSuffix(".hkw") }
            .reduce(UInt64(0)) { $0 + ((try? FileSystem.size(of: folder + "/" + $1)) ?? 0) }
        return (downloaded, converted)
    }

    /// Removes a pair's snapshots and the blobs no other snapshot uses; returns the bytes freed.
    public func remove(_ id: String) throws -> UInt64 {
        guard let lock = try store.lock(id) else {
            throw HubError(.notFound("\(id) has not been pulled (no lock file)"), location: store.lockPath(id))
        }
        var freed: UInt64 = 0
        for m in lock.members {
            let layout = cache.layout
            try? FileManager.default.removeItem(atPath: layout.snapshot(m.repo, m.commit).path)
            // Blobs still referenced by any remaining snapshot stay.
            let referenced = HFCache.referencedBlobs(snapshots: layout.snapshotsFolder(m.repo).path)
            for f in m.files where !referenced.contains(f.etag) {
                let blob = layout.blob(m.repo, f.blob).path
                freed += (try? FileSystem.size(of: blob)) ?? 0
                try? FileManager.default.removeItem(atPath: blob)
            }
            let refs = (try? FileManager.default.subpathsOfDirectory(atPath: layout.refsFolder(m.repo).path)) ?? []
            for r in refs {
                guard let revision = try? Revision(r), cache.commit(for: revision, repo: m.repo) == m.commit else {
                    continue
                }
                try? FileManager.default.removeItem(atPath: layout.ref(m.repo, revision).path)
            }
        }
        store.removeLock(id)
        return freed
    }
}
