/// The names that become path components under the Hugging Face hub cache, each a type that can
/// only hold a checked value. Revisions, repository ids, commits and blob names arrive from the
/// command line, from user manifests, from lock files and from the hub itself; every one of them
/// is checked here, once, before it can name a file (issue #13: `--revision ../../x` once wrote
/// outside the cache).

/// Why a name was refused as a cache path component.
public struct LayoutError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case repo
        case revision
        case commit
        case blob
        case filePath
    }

    public var code: Code
    /// The refused value, as given.
    public var value: String
    /// Which rule it breaks, in plain words.
    public var reason: String

    public init(_ code: Code, value: String, reason: String) {
        self.code = code
        self.value = value
        self.reason = reason
    }

    public var description: String {
        let what: String
        switch code {
        case .repo: what = "repository id"
        case .revision: what = "revision"
        case .commit: what = "commit"
        case .blob: what = "blob name"
        case .filePath: what = "file path"
        }
        return "invalid \(what) \"\(LayoutError.printable(value))\": \(reason)"
    }

    /// `value` with control characters escaped, so a hostile name cannot rewrite the terminal.
    static func printable(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars.prefix(200) {
            if u.value < 0x20 || u.value == 0x7F {
                out += "\\u{\(String(u.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}

enum Hex {
    static func isLowerHex(_ s: String, count: Int) -> Bool {
        s.utf8.count == count && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// A hub repository id, `org/name`, with the characters the hub allows (letters, digits, `-`,
/// `_`, `.`; no component `.` or `..`, none starting with `-`).
public struct RepoID: Sendable, Hashable, CustomStringConvertible {
    public let org: String
    public let name: String

    public init(_ s: String) throws(LayoutError) {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw LayoutError(.repo, value: s, reason: "must be org/name") }
        for p in parts {
            guard !p.isEmpty, p.utf8.count <= 96 else {
                throw LayoutError(.repo, value: s, reason: "each part must have 1 to 96 characters")
            }
            guard p != ".", p != "..", !p.hasPrefix("-"), !p.hasPrefix(".") else {
                throw LayoutError(.repo, value: s, reason: "a part may not be . or .. or start with - or .")
            }
            guard !p.contains("--"), !p.contains(".."), !p.hasSuffix("-"), !p.hasSuffix(".") else {
                throw LayoutError(
                    .repo, value: s, reason: "a part may not contain -- or .., nor end with - or . (as the hub rules)")
            }
            guard
                p.utf8.allSatisfy({
                    (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || (0x30...0x39).contains($0)
                        || [0x2D, 0x5F, 0x2E].contains($0)
                })
            else {
                throw LayoutError(.repo, value: s, reason: "only letters, digits, -, _ and . are allowed")
            }
        }
        org = String(parts[0])
        name = String(parts[1])
    }

    public static func isValid(_ s: String) -> Bool { (try? RepoID(s)) != nil }

    public var description: String { org + "/" + name }

    /// `models--ORG--NAME`, the repository's folder in the cache.
    public var folderName: String { "models--" + org + "--" + name }
}

/// A git commit id as the hub gives it: 40 lower-case hex digits.
public struct CommitID: Sendable, Hashable, CustomStringConvertible {
    public let hex: String

    public init(_ s: String) throws(LayoutError) {
        guard Hex.isLowerHex(s, count: 40) else {
            throw LayoutError(.commit, value: s, reason: "must be 40 lower-case hex digits")
        }
        hex = s
    }

    public static func isValid(_ s: String) -> Bool { Hex.isLowerHex(s, count: 40) }

    public var description: String { hex }
}

/// A blob's name in the cache: the LFS SHA-256 (64 hex) or the git blob id (40 hex).
public struct BlobID: Sendable, Hashable, CustomStringConvertible {
    public let hex: String

    public init(_ s: String) throws(LayoutError) {
        guard Hex.isLowerHex(s, count: 64) || Hex.isLowerHex(s, count: 40) else {
            throw LayoutError(.blob, value: s, reason: "must be a SHA-256 (64 hex digits) or a git object id (40)")
        }
        hex = s
    }

    public var description: String { hex }
}

/// A revision (branch, tag, `refs/pr/N` or commit) that is safe as a path under `refs/`: the rules
/// of `git check-ref-format`, plus no leading `-`.
public struct Revision: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(_ s: String) throws(LayoutError) {
        func no(_ reason: String) -> LayoutError { LayoutError(.revision, value: s, reason: reason) }
        guard !s.isEmpty, s.utf8.count <= 255 else { throw no("must have 1 to 255 characters") }
        guard s != "@" else { throw no("may not be @ alone") }
        guard !s.hasPrefix("-") else { throw no("may not start with -") }
        guard !s.hasPrefix("/"), !s.hasSuffix("/") else { throw no("may not start or end with /") }
        guard !s.hasSuffix(".") else { throw no("may not end with .") }
        guard !s.contains("..") else { throw no("may not contain ..") }
        guard !s.contains("@{") else { throw no("may not contain @{") }
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F { throw no("may not contain control characters") }
            if " ~^:?*[\\".unicodeScalars.contains(u) { throw no("may not contain space, ~, ^, :, ?, *, [ or \\") }
        }
        for component in s.split(separator: "/", omittingEmptySubsequences: false) {
            guard !component.isEmpty else { throw no("may not contain //") }
            guard !component.hasPrefix(".") else { throw no("a component may not start with .") }
            guard !component.hasSuffix(".lock") else { throw no("a component may not end with .lock") }
        }
        name = s
    }

    public static func isValid(_ s: String) -> Bool { (try? Revision(s)) != nil }

    /// The revision is itself a commit id.
    public var commit: CommitID? { try? CommitID(name) }

    public var description: String { name }
}

/// A file's path inside a repository, from a tree listing or a lock file: relative, no empty,
/// `.` or `..` component, no backslash, colon or NUL (judged by POSIX and Windows rules alike).
public struct RepoFilePath: Sendable, Hashable, CustomStringConvertible {
    public let path: String

    public init(_ p: String) throws(LayoutError) {
        func no(_ reason: String) -> LayoutError { LayoutError(.filePath, value: p, reason: reason) }
        guard !p.isEmpty, p.utf8.count <= 1024 else { throw no("must have 1 to 1024 bytes") }
        guard !p.hasPrefix("/") else { throw no("must be relative") }
        guard !p.contains("\\"), !p.contains(":"), !p.utf8.contains(0) else { throw no("may not contain \\, : or NUL") }
        guard
            p.split(separator: "/", omittingEmptySubsequences: false).allSatisfy({
                !$0.isEmpty && $0 != "." && $0 != ".."
            })
        else {
            throw no("may not have an empty, . or .. component")
        }
        path = p
    }

    public static func isValid(_ p: String) -> Bool { (try? RepoFilePath(p)) != nil }

    /// The folders above the file (`a/b/c.json` → `a`, `a/b`).
    public var parents: [String] {
        let parts = path.split(separator: "/")
        return (1..<max(1, parts.count)).map { parts[0..<$0].joined(separator: "/") }
    }

    /// Number of folders above the file.
    public var depth: Int { path.split(separator: "/").count - 1 }

    public var description: String { path }
}
