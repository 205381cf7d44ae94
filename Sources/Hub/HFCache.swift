import Foundation
import Platform

/// The Hugging Face hub cache layout, shared with `huggingface_hub` both ways:
///
///     <cache>/models--ORG--NAME/blobs/<sha256 or git oid>
///     <cache>/models--ORG--NAME/snapshots/<commit>/<path>   → relative link to ../../blobs/<etag>
///     <cache>/models--ORG--NAME/refs/<revision>             → the commit, no newline
public struct HFCache: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public func repoFolder(_ repo: String) -> String {
        root + "/models--" + repo.replacingOccurrences(of: "/", with: "--")
    }

    public func blob(_ repo: String, etag: String) -> String { repoFolder(repo) + "/blobs/" + etag }

    public func snapshot(_ repo: String, commit: String) -> String { repoFolder(repo) + "/snapshots/" + commit }

    public func snapshotFile(_ repo: String, commit: String, path: String) -> String { snapshot(repo, commit: commit) + "/" + path }

    /// The commit a revision resolved to last time, or the revision itself when it is a commit.
    public func commit(for revision: String, repo: String) -> String? {
        if HFCache.isCommit(revision) { return revision }
        guard let data = FileManager.default.contents(atPath: repoFolder(repo) + "/refs/" + revision) else { return nil }
        let c = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return HFCache.isCommit(c) ? c : nil
    }

    public static func isCommit(_ s: String) -> Bool {
        s.utf8.count == 40 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Records `revision` → `commit` (atomically).
    public func setRef(_ revision: String, commit: String, repo: String) throws {
        guard !HFCache.isCommit(revision) else { return }
        let path = repoFolder(repo) + "/refs/" + revision
        try FileManager.default.createDirectory(atPath: FileSystem.split(path).directory, withIntermediateDirectories: true)
        let w = try AtomicFileWriter(path: path)
        try w.write(Array(commit.utf8))
        try w.commit()
    }

    /// Links `snapshots/<commit>/<path>` to the blob with a relative link, as huggingface_hub does.
    public func linkSnapshot(_ repo: String, commit: String, path: String, etag: String) throws {
        let link = snapshotFile(repo, commit: commit, path: path)
        let dir = FileSystem.split(link).directory
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let depth = path.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/" + etag
        if FileSystem.symlinkTarget(link) == target { return }
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    }

    /// Creates `CACHEDIR.TAG` like huggingface_hub (backup tools skip the folder).
    public func tagCacheFolder() {
        let tag = root + "/CACHEDIR.TAG"
        guard FileSystem.kind(of: tag) == .missing else { return }
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let text = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by hasskit.\n"
        FileManager.default.createFile(atPath: tag, contents: Data(text.utf8))
    }

    /// A file path from a tree listing is safe when it is relative and has no `..`, `.`, empty,
    /// backslash or drive-letter component (judged by POSIX and Windows rules alike).
    public static func isSafeRepoPath(_ p: String) -> Bool {
        guard !p.isEmpty, p.utf8.count <= 1024, !p.hasPrefix("/"), !p.contains("\\"), !p.contains(":"), !p.contains("\0") else { return false }
        return p.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}
