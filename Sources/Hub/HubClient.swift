import CacheLayout
import Foundation
import Platform
import StrictJSON

/// Tunables of the hub client (the defaults are what users get; tests shorten the waits).
public struct HubConfiguration: Sendable {
    /// Attempts per request or byte range before giving up (the count restarts when bytes arrive).
    public var maxAttempts = 6
    /// First backoff delay; doubled after each failure up to `maxRetryDelay`, with ±25 % jitter.
    public var retryBaseDelay = 1.0
    public var maxRetryDelay = 16.0
    /// Longest `Retry-After` honoured.
    public var maxRetryAfter = 60.0
    /// Seconds below 1 byte/s before a transfer counts as stalled.
    public var stallSeconds = 30
    public var connectTimeout = 10.0
    /// Files downloaded at once.
    public var parallelFiles = 4
    /// Byte ranges of one large file downloaded at once.
    public var parallelRanges = 4
    /// Flush each finished blob to the disk (`fsync`) before it is renamed into place, so a crash
    /// or power loss never leaves a truncated file under a final name. Off (`pull --no-fsync`),
    /// the file still appears only after its SHA-256 matched, but a power loss right after could
    /// leave it short on disk (`hasskit verify` finds that); downloads then run at page-cache speed.
    public var syncBlobs = true
    /// Files at least this large are split into ranges.
    public var minimumSplitSize: UInt64 = 64 << 20
    /// Smallest range a file is split into.
    public var minimumRangeSize: UInt64 = 8 << 20

    public init() {}
}

/// A file of a repository at a commit, from the tree listing (or a lock file that recorded one).
/// Its path and blob name are checked when it is made, so both can name files in the cache.
public struct RemoteFile: Sendable, Equatable {
    public let file: RepoFilePath
    public let size: UInt64
    /// SHA-256 of the content for LFS/Xet files (the LFS oid).
    public let sha256: String?
    /// The git blob id (SHA-1 of `blob <size>\0<content>`).
    public let gitOID: String
    /// The name of the blob in the hub cache: the SHA-256, or the git blob id.
    public let blob: BlobID

    public init(path: String, size: UInt64, sha256: String?, gitOID: String) throws(LayoutError) {
        file = try RepoFilePath(path)
        self.size = size
        self.sha256 = sha256
        self.gitOID = gitOID
        blob = try BlobID(sha256 ?? gitOID)
    }

    public var path: String { file.path }
    public var etag: String { blob.hex }
}

/// The hub's HTTP API, over libcurl: repository info, tree listings and file downloads, with
/// redirects followed here so that the token is only ever sent to the hub's own host.
public struct HubClient: Sendable {
    public var environment: HubEnvironment
    public var configuration: HubConfiguration

    public init(environment: HubEnvironment, configuration: HubConfiguration = HubConfiguration()) {
        self.environment = environment
        self.configuration = configuration
    }

    static func encodeComponent(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    static func encodePath(_ s: String) -> String {
        s.split(separator: "/", omittingEmptySubsequences: false).map { encodeComponent(String($0)) }.joined(
            separator: "/")
    }

    /// Resolves `revision` to a commit (`GET /api/models/{repo}/revision/{rev}`).
    public func resolveCommit(repo: RepoID, revision: Revision) throws -> CommitID {
        if environment.offline {
            throw HubError(
                .offline("cannot resolve \(repo)@\(revision) without the network"), location: repo.description)
        }
        let url = "\(environment.endpoint)/api/models/\(repo)/revision/\(HubClient.encodeComponent(revision.name))"
        let json = try getJSON(url, repo: repo.description)
        // The commit names a snapshot folder: only 40 hex digits are taken from the hub.
        guard let sha = json["sha"]?.stringValue, let commit = try? CommitID(sha) else {
            throw HubError(.protocolViolation("repository info without a 40-hex \"sha\""), location: url)
        }
        return commit
    }

    /// Whether the hub gates the repository's files: nil when it does not, else how access is
    /// granted (`auto` or `manual`), from the repository's info at `commit`.
    public func gatedStatus(repo: RepoID, commit: CommitID) throws -> String? {
        let url = "\(environment.endpoint)/api/models/\(repo)/revision/\(commit.hex)"
        let json = try getJSON(url, repo: repo.description)
        if let g = json["gated"]?.stringValue { return g }
        return json["gated"]?.boolValue == true ? "yes" : nil
    }

    /// Lists every file of `repo` at `commit`, following pagination.
    /// The listing must describe a tree: a path that is both a file and a folder above another
    /// file (`a` and `a/b`, impossible in git), or a path listed twice, is refused before anything
    /// is written.
    public func listFiles(repo repoID: RepoID, commit: CommitID) throws -> [RemoteFile] {
        let repo = repoID.description
        var url: String? = "\(environment.endpoint)/api/models/\(repo)/tree/\(commit)?recursive=true&expand=false"
        var files: [RemoteFile] = []
        var pages = 0
        while let next = url {
            pages += 1
            guard pages <= 10_000 else {
                throw HubError(.protocolViolation("more than 10000 pages in the tree listing"), location: next)
            }
            var link: String?
            let json = try getJSON(next, repo: repo) { response in link = response.header("link") }
            guard let entries = json.arrayValue else {
                throw HubError(.protocolViolation("tree listing is not an array"), location: next)
            }
            for e in entries where e["type"]?.stringValue == "file" {
                guard let path = e["path"]?.stringValue, let size = e["size"]?.uint64Value,
                    let oid = e["oid"]?.stringValue
                else {
                    throw HubError(.protocolViolation("tree entry without path, size or oid"), location: next)
                }
                guard RepoFilePath.isValid(path) else { throw HubError(.unsafePath(path), location: next) }
                guard size < 1 << 50 else {
                    throw HubError(.protocolViolation("\(path) claims \(size) bytes"), location: next)
                }
                var sha: String?
                if let lfs = e["lfs"], lfs.objectMembers != nil {
                    guard let o = lfs["oid"]?.stringValue ?? lfs["sha256"]?.stringValue, o.utf8.count == 64,
                        o.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
                    else {
                        throw HubError(.protocolViolation("\(path): LFS oid is not a SHA-256"), location: next)
                    }
                    sha = o
                }
                do {
                    files.append(try RemoteFile(path: path, size: size, sha256: sha, gitOID: oid))
                } catch {
                    throw HubError(.protocolViolation("\(path): \(error)"), location: next)
                }
            }
            url = link.flatMap(HubClient.nextLink)
        }
        try HubClient.checkIsTree(files, location: "\(environment.endpoint)/api/models/\(repo)/tree/\(commit)")
        return files
    }

    /// Refuses a listing in which one path is listed twice, or is a file and also a folder above
    /// another file.
    static func checkIsTree(_ files: [RemoteFile], location: String) throws {
        var seen = Set<String>()
        for f in files where !seen.insert(f.path).inserted {
            throw HubError(.notATree(f.path, f.path), location: location)
        }
        for f in files {
            for folder in f.file.parents where seen.contains(folder) {
                throw HubError(.notATree(folder, f.path), location: location)
            }
        }
    }

    /// `scheme://host:port` of a URL (default ports filled in), or nil.
    static func origin(_ url: String) -> String? {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), let host = u.host?.lowercased() else {
            return nil
        }
        let port = u.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
        return "\(scheme)://\(host):\(port)"
    }

    /// The `rel="next"` URL of a `Link` header.
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") where part.contains("rel=\"next\"") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">"), open < close else {
                continue
            }
            return String(part[part.index(after: open)..<close])
        }
        return nil
    }

    /// `{endpoint}/{repo}/resolve/{commit}/{path}`.
    public func resolveURL(repo: RepoID, commit: CommitID, path: String) -> String {
        "\(environment.endpoint)/\(repo)/resolve/\(commit)/\(HubClient.encodePath(path))"
    }

    /// Asks for the first byte of `file`: the hub refuses a gated or private repository's files
    /// (401/403) while its listing is public, so this is the question to ask before any space is
    /// reserved for the download. Transient failures are retried as downloads are.
    public func checkAccess(repo: RepoID, commit: CommitID, file: RemoteFile) throws {
        let url = resolveURL(repo: repo, commit: commit, path: file.path)
        try withRetries(url) {
            // The first 2xx body bytes answer the question; the transfer is stopped there (a
            // server that ignores the range would otherwise send the whole file).
            var answered = false
            do {
                _ = try request(url, repo: repo.description, range: 0...0, expect: file, commit: commit.hex) { _ in
                    answered = true
                    return false
                }
            } catch let e as HubError where answered {
                _ = e
            }
        }
    }

    /// Bytes `range` of `file`: how `compat --remote` reads a safetensors header (the 8-byte
    /// length, then the header, as huggingface_hub's `get_safetensors_metadata` does) or a zip's
    /// directory without the weights. A server that ignores a range from byte 0 sends the whole
    /// file: the transfer stops once the range is in hand.
    public func readRange(
        repo: RepoID, commit: CommitID, file: RemoteFile, range: ClosedRange<UInt64>
    ) throws
        -> [UInt8]
    {
        let url = resolveURL(repo: repo, commit: commit, path: file.path)
        let want = Int(range.upperBound - range.lowerBound + 1)
        var data: [UInt8] = []
        try withRetries(url) {
            data = []
            do {
                _ = try request(url, repo: repo.description, range: range, expect: file, commit: commit.hex) { chunk in
                    data.append(contentsOf: chunk.prefix(want - data.count))
                    return data.count < want
                }
            } catch let e as HubError where data.count == want {
                _ = e
            }
        }
        guard data.count == want else {
            throw HubError(
                .protocolViolation(
                    "asked for bytes \(range.lowerBound)–\(range.upperBound) of \(file.path), got \(data.count)"),
                location: url)
        }
        return data
    }

    // MARK: Requests

    func getJSON(_ url: String, repo: String, onResponse: (HTTPResponse) -> Void = { _ in }) throws -> JSONValue {
        var data: [UInt8] = []
        let response = try withRetries(url) {
            data = []
            return try request(url, repo: repo) { chunk in
                data.append(contentsOf: chunk)
                return data.count <= 256 << 20
            }
        }
        onResponse(response)
        do { return try JSONParser(maxDepth: 64).parse(data) } catch {
            throw HubError(.protocolViolation("invalid JSON: \(error)"), location: url)
        }
    }

    /// One GET (or ranged GET), following up to 10 redirects. The `Authorization` header goes only
    /// to the host of `environment.endpoint`. Non-2xx answers become `HubError`s.
    func request(
        _ url: String, repo: String, range: ClosedRange<UInt64>? = nil, from: UInt64? = nil,
        expect: RemoteFile? = nil, commit: String? = nil,
        body: @escaping (UnsafeRawBufferPointer) -> Bool
    ) throws -> HTTPResponse {
        var current = url
        let hubOrigin = HubClient.origin(environment.endpoint)
        for _ in 0..<10 {
            var r = HTTPRequest(url: current)
            r.range = range
            r.rangeFrom = from
            r.connectTimeout = configuration.connectTimeout
            r.stallSeconds = configuration.stallSeconds
            // The token goes to the hub's own origin only (scheme, host and port), never to a CDN.
            if let token = environment.token, HubClient.origin(current) == hubOrigin {
                r.headers.append(("Authorization", "Bearer \(token)"))
            }
            var status = 0
            var errorBody: [UInt8] = []
            var rangeIgnored = false
            var badRange: String?
            let start = range?.lowerBound ?? from ?? 0
            let response: HTTPResponse
            do {
                response = try CurlTransfer.perform(r) { chunk in
                    // A 200 to a request for bytes N- (N > 0) is the whole file: writing it at N would corrupt.
                    if status == 200 && start > 0 {
                        rangeIgnored = true
                        return false
                    }
                    if status == 0 || (200...299).contains(status) { return body(chunk) }
                    if errorBody.count < 64 << 10 { errorBody.append(contentsOf: chunk.prefix(64 << 10)) }
                    return true
                } onStatus: {
                    status = $0
                } accept: { code, headers in
                    // A 206 must start exactly where we asked.
                    guard code == 206, range != nil || from != nil else { return true }
                    guard let cr = headers["content-range"],
                        let first = cr.split(separator: " ").last?.split(separator: "-").first,
                        let got = UInt64(first), got == start
                    else {
                        badRange = headers["content-range"] ?? "(none)"
                        return false
                    }
                    return true
                }
            } catch {
                // Our own aborts are reported as what they were, not as network failures.
                if let badRange {
                    throw HubError(
                        .protocolViolation("asked for bytes from \(start), got Content-Range \(badRange)"),
                        location: current)
                }
                if rangeIgnored { throw HubError(.rangeIgnored, location: current) }
                throw error
            }
            if let badRange {
                throw HubError(
                    .protocolViolation("asked for bytes from \(start), got Content-Range \(badRange)"),
                    location: current)
            }
            if rangeIgnored || (response.status == 200 && start > 0) {
                throw HubError(.rangeIgnored, location: current)
            }
            if let expect, HubClient.origin(current) == hubOrigin {
                try HubClient.checkFileHeaders(response, expect: expect, commit: commit, url: current)
            }
            if [301, 302, 303, 307, 308].contains(response.status) {
                guard let location = response.header("location"),
                    let next = URL(string: location, relativeTo: URL(string: current))
                else {
                    throw HubError(.protocolViolation("redirect without a Location"), location: current)
                }
                current = next.absoluteString
                continue
            }
            guard (200...299).contains(response.status) else {
                throw HubClient.error(
                    for: response, body: errorBody, url: current, repo: repo,
                    sentToken: environment.token != nil && HubClient.origin(current) == hubOrigin)
            }
            return response
        }
        throw HubError(.protocolViolation("more than 10 redirects"), location: url)
    }

    /// The hub's `/resolve` answers carry the commit and the file's identity. When they are present
    /// they must agree with the tree listing; an answer that disagrees comes from something other
    /// than the hub (a proxy or a captive portal) or from a repository that changed under us.
    static func checkFileHeaders(_ r: HTTPResponse, expect f: RemoteFile, commit: String?, url: String) throws {
        func unquote(_ v: String) -> String {
            var t = v.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("W/") { t.removeFirst(2) }
            return t.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        if let c = r.header("x-repo-commit"), let commit, c != commit {
            throw HubError(.protocolViolation("X-Repo-Commit \(c) but the listing was for \(commit)"), location: url)
        }
        if let etag = r.header("x-linked-etag").map(unquote), etag != f.etag {
            throw HubError(.protocolViolation("X-Linked-Etag \(etag) but the listing gives \(f.etag)"), location: url)
        }
        if let size = r.header("x-linked-size").flatMap(UInt64.init), size != f.size {
            throw HubError(.sizeMismatch(file: f.path, expected: f.size, found: size), location: url)
        }
        if r.header("x-linked-etag") == nil, (200...299).contains(r.status), let etag = r.header("etag").map(unquote),
            etag.utf8.count == 40 || etag.utf8.count == 64, etag != f.etag
        {
            throw HubError(.protocolViolation("ETag \(etag) but the listing gives \(f.etag)"), location: url)
        }
    }

    static func error(for response: HTTPResponse, body: [UInt8], url: String, repo: String, sentToken: Bool) -> HubError
    {
        let code = response.header("x-error-code") ?? ""
        var message = response.header("x-error-message") ?? ""
        if message.isEmpty, let json = try? JSONParser().parse(body), let e = json["error"]?.stringValue { message = e }
        let lower = message.lowercased()
        switch (response.status, code) {
        case (401, _)
        where lower.contains("invalid credentials") || lower.contains("invalid token")
            || lower.contains("invalid username or password"):
            return HubError(.invalidToken, location: url)
        case (_, "GatedRepo"),
            (403, _) where lower.contains("gated") || lower.contains("restricted"):
            return HubError(.gated(repo: repo, tokenSent: sentToken), location: url)
        case (401, _): return HubError(.unauthorized(repo: repo, tokenSent: sentToken), location: url)
        case (403, _): return HubError(.forbidden(repo: repo, message: String(message.prefix(200))), location: url)
        case (_, "RepoNotFound"): return HubError(.notFound("repository \(repo)"), location: url)
        case (_, "RevisionNotFound"): return HubError(.notFound("revision of \(repo)"), location: url)
        case (_, "EntryNotFound"), (404, _):
            return HubError(.notFound(message.isEmpty ? "no such file" : message), location: url)
        default:
            var e = HubError(.http(status: response.status, message: String(message.prefix(200))), location: url)
            if let retry = response.header("retry-after"), let seconds = Double(retry) { e.retryAfter = seconds }
            return e
        }
    }

    /// Runs `body` until it succeeds, retrying transient failures with exponential backoff and
    /// jitter (honouring `Retry-After` up to `maxRetryAfter`).
    func withRetries<T>(_ what: String, progressed: () -> Bool = { false }, _ body: () throws -> T) throws -> T {
        var attempt = 0
        var delay = configuration.retryBaseDelay
        while true {
            do {
                return try body()
            } catch let e as HubError where e.isTransient {
                attempt = progressed() ? 0 : attempt + 1
                guard attempt < configuration.maxAttempts else { throw e }
                var wait = delay * Double.random(in: 0.75...1.25)
                if let ra = e.retryAfter { wait = min(max(ra, wait), configuration.maxRetryAfter) }
                Thread.sleep(forTimeInterval: wait)
                delay = min(delay * 2, configuration.maxRetryDelay)
            }
        }
    }
}
