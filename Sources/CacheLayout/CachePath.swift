/// A path inside one hub cache folder. Its initialiser is private to this module and takes only the
/// checked component types, so a `CachePath` cannot point outside the cache: every write under the
/// cache (blobs, partial files, journals, locks, refs, snapshot links) is addressed by one.
public struct CachePath: Sendable, Hashable, CustomStringConvertible {
    public let path: String

    fileprivate init(_ path: String) {
        self.path = path
    }

    /// A sibling with a suffix on the last component (`<blob>.hasskit.incomplete`). Suffixes are
    /// fixed strings chosen by the caller, never input: only letters, digits, `.`, `-` and `_`.
    public func appending(suffix: StaticString) -> CachePath {
        CachePath(path + suffix.description)
    }

    /// The folder holding this path.
    public var parent: CachePath {
        guard let slash = path.lastIndex(of: "/") else { return self }
        return CachePath(String(path[..<slash]))
    }

    public var description: String { path }
}

/// The Hugging Face hub cache layout, shared with `huggingface_hub` both ways:
///
///     <cache>/models--ORG--NAME/blobs/<sha256 or git oid>
///     <cache>/models--ORG--NAME/snapshots/<commit>/<path>   → relative link to ../../blobs/<etag>
///     <cache>/models--ORG--NAME/refs/<revision>             → the commit, no newline
///     <cache>/.locks/models--ORG--NAME/<etag>.lock
public struct CacheLayout: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public var rootPath: CachePath { CachePath(root) }
    public var cacheDirTag: CachePath { CachePath(root + "/CACHEDIR.TAG") }

    public func repoFolder(_ repo: RepoID) -> CachePath { CachePath(root + "/" + repo.folderName) }
    public func blobsFolder(_ repo: RepoID) -> CachePath { CachePath(root + "/" + repo.folderName + "/blobs") }
    public func blob(_ repo: RepoID, _ blob: BlobID) -> CachePath { CachePath(blobsFolder(repo).path + "/" + blob.hex) }
    public func refsFolder(_ repo: RepoID) -> CachePath { CachePath(root + "/" + repo.folderName + "/refs") }
    public func ref(_ repo: RepoID, _ revision: Revision) -> CachePath {
        CachePath(refsFolder(repo).path + "/" + revision.name)
    }
    public func snapshotsFolder(_ repo: RepoID) -> CachePath { CachePath(root + "/" + repo.folderName + "/snapshots") }
    public func snapshot(_ repo: RepoID, _ commit: CommitID) -> CachePath {
        CachePath(snapshotsFolder(repo).path + "/" + commit.hex)
    }
    public func snapshotFile(_ repo: RepoID, _ commit: CommitID, _ file: RepoFilePath) -> CachePath {
        CachePath(snapshot(repo, commit).path + "/" + file.path)
    }
    public func locksFolder(_ repo: RepoID) -> CachePath { CachePath(root + "/.locks/" + repo.folderName) }
    public func lock(_ repo: RepoID, _ blob: BlobID) -> CachePath {
        CachePath(locksFolder(repo).path + "/" + blob.hex + ".lock")
    }

    /// The relative link target from a snapshot file to its blob (`../../blobs/<etag>` plus one
    /// `../` per folder above the file), as huggingface_hub writes it.
    public static func linkTarget(for file: RepoFilePath, blob: BlobID) -> String {
        String(repeating: "../", count: file.depth + 2) + "blobs/" + blob.hex
    }
}

/// A file's place in a snapshot, read back from its path: `…/models--ORG--NAME/snapshots/<commit>/…`.
/// What `convert` records as a converted model's provenance.
public struct SnapshotLocation: Sendable, Equatable {
    public var repo: RepoID
    public var commit: CommitID

    /// nil when `path` is not inside a snapshot folder of a hub cache.
    public init?(path: String) {
        let parts = path.split(separator: "/").map(String.init)
        guard let i = parts.lastIndex(where: { $0.hasPrefix("models--") }), i + 2 < parts.count,
            parts[i + 1] == "snapshots"
        else {
            return nil
        }
        // A repository id never contains "--" (RepoID refuses it), so the first "--" is the slash.
        let name = String(parts[i].dropFirst("models--".count))
        guard let dash = name.firstRange(of: "--"),
            let repo = try? RepoID(name[..<dash.lowerBound] + "/" + name[dash.upperBound...]),
            let commit = try? CommitID(parts[i + 2])
        else {
            return nil
        }
        self.repo = repo
        self.commit = commit
    }

    /// The SHA-256 a snapshot file's link names, when it is a link to an LFS blob
    /// (`…/blobs/<64 hex>`); `target` is the link's text.
    public static func blobDigest(linkTarget target: String) -> String? {
        let parts = target.split(separator: "/")
        guard parts.count >= 2, parts[parts.count - 2] == "blobs", let name = parts.last,
            Hex.isLowerHex(String(name), count: 64)
        else {
            return nil
        }
        return String(name)
    }
}
