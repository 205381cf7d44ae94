import CacheLayout
import Foundation
import Platform

/// The hub cache on disk: what `pull`, `verify` and `rm` read and write in it. Every path comes from
/// `CacheLayout` and is built from checked components, so nothing here can name a file outside
/// `root` (see `CachePath`).
public struct HFCache: Sendable {
    public let layout: CacheLayout

    public init(root: String) {
        layout = CacheLayout(root: root)
    }

    public var root: String { layout.root }

    /// The commit a revision resolved to last time, or the revision itself when it is a commit.
    public func commit(for revision: Revision, repo: RepoID) -> CommitID? {
        if let c = revision.commit { return c }
        guard let data = FileManager.default.contents(atPath: layout.ref(repo, revision).path) else { return nil }
        return try? CommitID(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Records `revision` → `commit` (atomically).
    public func setRef(_ revision: Revision, commit: CommitID, repo: RepoID) throws {
        guard revision.commit == nil else { return }
        let ref = layout.ref(repo, revision)
        try createFolder(ref.parent)
        let w = try AtomicFileWriter(path: ref.path)
        try w.write(Array(commit.hex.utf8))
        try w.commit()
    }

    /// Links `snapshots/<commit>/<path>` to the blob with a relative link, as huggingface_hub does.
    public func linkSnapshot(_ repo: RepoID, commit: CommitID, file: RepoFilePath, blob: BlobID) throws {
        let link = layout.snapshotFile(repo, commit, file)
        try createFolder(link.parent)
        let target = CacheLayout.linkTarget(for: file, blob: blob)
        if FileSystem.symlinkTarget(link.path) == target { return }
        try? FileManager.default.removeItem(atPath: link.path)
        try FileSystem.createSymbolicLink(link.path, target: target)
    }

    /// The blob names the snapshot links under `snapshots` point to (a repository's
    /// `snapshots/` folder): what `rm` and `gc` must keep.
    public static func referencedBlobs(snapshots: String) -> Set<String> {
        var referenced = Set<String>()
        for sub in (try? FileManager.default.subpathsOfDirectory(atPath: snapshots)) ?? [] {
            if let target = FileSystem.symlinkTarget(snapshots + "/" + sub),
                let name = target.split(separator: "/").last
            {
                referenced.insert(String(name))
            }
        }
        return referenced
    }

    /// Creates a folder (and those above it) inside the cache.
    public func createFolder(_ folder: CachePath) throws {
        try FileSystem.createDirectory(folder.path)
    }

    /// Creates `CACHEDIR.TAG` like huggingface_hub (backup tools skip the folder).
    public func tagCacheFolder() {
        let tag = layout.cacheDirTag.path
        guard FileSystem.kind(of: tag) == .missing else { return }
        try? createFolder(layout.rootPath)
        let text =
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by hasskit.\n"
        FileManager.default.createFile(atPath: tag, contents: Data(text.utf8))
    }
}
