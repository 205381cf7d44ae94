import CacheLayout
import StrictJSON

/// What kind of draft a pair's draft repository holds.
public enum DraftKind: String, Sendable, CaseIterable {
    /// A HASS (EAGLE-1 layout) draft head: `fc` plus one decoder layer over the base's features.
    case eagle1Head = "eagle1-head"
    /// HASS's retrained DeepSeek multi-token-prediction layer.
    case deepseekMTP = "deepseek-mtp"
}

/// The model family of a pair's base, as manifests name it (the chat format and tokenizer differ
/// between LLaMA-2 and LLaMA-3; the converted architecture is the same).
public enum Family: String, Sendable, CaseIterable {
    case llama2, llama3, qwen2
    case deepseekV3 = "deepseek_v3"
}

/// One published base + draft pair (`manifests/<id>.json`; schema in `docs/MANIFESTS.md`).
public struct Manifest: Sendable, Equatable {
    /// One side of a pair: a hub repository and which of its files to fetch.
    public struct Member: Sendable, Equatable {
        public var repo: String
        public var revision: String
        public var gated: Bool
        public var licence: String
        /// Glob patterns of the files to fetch (`*` matches across `/`, as `hf download` does).
        public var include: [String]
    }

    public struct Tree: Sendable, Equatable {
        public var topK: Int
        /// Draft levels − 1, as HASS and EAGLE count it.
        public var depth: Int
        /// Tree nodes including the root.
        public var totalTokens: Int

        public init(topK: Int, depth: Int, totalTokens: Int) {
            self.topK = topK
            self.depth = depth
            self.totalTokens = totalTokens
        }

        /// HASS's published GPU tree (top-k 10, depth 5 = 6 levels, 60 nodes).
        public static let published = Tree(topK: 10, depth: 5, totalTokens: 60)
    }

    public var id: String
    public var aliases: [String]
    public var title: String
    public var family: Family
    public var chatTemplate: String
    public var base: Member
    public var draft: Member
    public var draftKind: DraftKind
    public var gpuTree: Tree
    public var cpuTree: Tree
    /// The published figures, for reference (the raw JSON object, with its source).
    public var published: JSONValue
    /// The pair is not on the hub: its repositories exist only on the loopback hub `hasskit demo`
    /// serves from the repository's own files (the bundled demo pair).
    public var localOnly: Bool

}

/// Why a manifest was refused, naming the file and the field.
public struct ManifestError: Error, Sendable, CustomStringConvertible, Equatable {
    public var file: String
    public var field: String
    public var problem: String

    public var description: String { "\(file): \(field): \(problem)" }
}

extension Manifest {
    /// Parses and validates a manifest document.
    /// - Throws: `ManifestError` naming the first field that is missing or wrong.
    public init(json: JSONValue, file: String) throws(ManifestError) {
        func fail(_ field: String, _ problem: String) -> ManifestError {
            ManifestError(file: file, field: field, problem: problem)
        }
        func string(_ v: JSONValue?, _ field: String) throws(ManifestError) -> String {
            guard let s = v?.stringValue, !s.isEmpty else { throw fail(field, "must be a non-empty string") }
            return s
        }
        func strings(_ v: JSONValue?, _ field: String, allowEmpty: Bool = false) throws(ManifestError) -> [String] {
            guard let a = v?.arrayValue else { throw fail(field, "must be an array of strings") }
            var out: [String] = []
            for (i, item) in a.enumerated() {
                guard let s = item.stringValue, !s.isEmpty else {
                    throw fail("\(field)[\(i)]", "must be a non-empty string")
                }
                out.append(s)
            }
            if out.isEmpty && !allowEmpty { throw fail(field, "must not be empty") }
            return out
        }
        func positive(_ v: JSONValue?, _ field: String) throws(ManifestError) -> Int {
            guard let n = v?.intValue, n > 0 else { throw fail(field, "must be a positive integer") }
            return n
        }
        guard json.objectMembers != nil else { throw fail("(document)", "must be a JSON object") }
        guard json["schema"]?.intValue == 1 else { throw fail("schema", "must be 1") }
        id = try string(json["id"], "id")
        guard Manifest.isValidID(id) else { throw fail("id", "must be lower-case letters, digits and dashes") }
        aliases = try strings(json["aliases"] ?? .array([]), "aliases", allowEmpty: true)
        for (i, a) in aliases.enumerated() where !Manifest.isValidID(a) {
            throw fail("aliases[\(i)]", "must be lower-case letters, digits and dashes")
        }
        title = try string(json["title"], "title")
        let familyName = try string(json["family"], "family")
        guard let family = Family(rawValue: familyName) else {
            throw fail("family", "must be one of \(Family.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.family = family
        chatTemplate = try string(json["chat_template"], "chat_template")
        func member(_ key: String) throws(ManifestError) -> Member {
            guard let m = json[key], m.objectMembers != nil else { throw fail(key, "must be an object") }
            let repo = try string(m["repo"], "\(key).repo")
            do { _ = try RepoID(repo) } catch { throw fail("\(key).repo", error.description) }
            let revision = try string(m["revision"], "\(key).revision")
            // A revision becomes a path under the cache's refs/: refused here, before any request.
            do { _ = try Revision(revision) } catch { throw fail("\(key).revision", error.description) }
            guard let gated = m["gated"]?.boolValue else { throw fail("\(key).gated", "must be true or false") }
            return Member(
                repo: repo, revision: revision, gated: gated,
                licence: try string(m["licence"], "\(key).licence"),
                include: try strings(m["include"], "\(key).include"))
        }
        base = try member("base")
        draft = try member("draft")
        let kind = try string(json["draft"]?["kind"], "draft.kind")
        guard let draftKind = DraftKind(rawValue: kind) else {
            throw fail("draft.kind", "must be one of \(DraftKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.draftKind = draftKind
        func tree(_ key: String) throws(ManifestError) -> Tree {
            let t = json["tree"]?[key]
            return Tree(
                topK: try positive(t?["top_k"], "tree.\(key).top_k"),
                depth: try positive(t?["depth"], "tree.\(key).depth"),
                totalTokens: try positive(t?["total_tokens"], "tree.\(key).total_tokens"))
        }
        gpuTree = try tree("gpu")
        cpuTree = try tree("cpu")
        guard let published = json["published"], published.objectMembers != nil else {
            throw fail("published", "must be an object")
        }
        self.published = published
        switch json["local_only"] {
        case nil: localOnly = false
        case let v?:
            guard let b = v.boolValue else { throw fail("local_only", "must be true or false") }
            localOnly = b
        }
    }

    static func isValidID(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64
            && s.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }

    /// `org/name` with the characters the hub allows.
    public static func isValidRepo(_ s: String) -> Bool { RepoID.isValid(s) }

    /// The manifest as JSON (for `show --json`).
    public var json: JSONValue {
        func member(_ m: Member, extra: [(String, JSONValue)] = []) -> JSONValue {
            .object(
                [
                    ("repo", .string(m.repo)), ("revision", .string(m.revision)), ("gated", .bool(m.gated)),
                    ("licence", .string(m.licence)), ("include", .array(m.include.map { .string($0) })),
                ] + extra)
        }
        func tree(_ t: Tree) -> JSONValue {
            .object([("top_k", .int(t.topK)), ("depth", .int(t.depth)), ("total_tokens", .int(t.totalTokens))])
        }
        return .object(
            [
                ("schema", .int(1)), ("id", .string(id)), ("aliases", .array(aliases.map { .string($0) })),
                ("title", .string(title)),
                ("family", .string(family.rawValue)), ("chat_template", .string(chatTemplate)), ("base", member(base)),
                ("draft", member(draft, extra: [("kind", .string(draftKind.rawValue))])),
                ("tree", .object([("gpu", tree(gpuTree)), ("cpu", tree(cpuTree))])), ("published", published),
            ] + (localOnly ? [("local_only", .bool(true))] : []))
    }
}
