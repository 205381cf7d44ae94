import Crypto
import Foundation
import Platform
import StrictJSON

/// An imitation of the Hugging Face hub on loopback, for download tests and `hasskit demo`: the API (repository
/// info, paginated tree listing), `/resolve/` with the real headers, LFS files redirected to a
/// second "CDN" server on another port, gated repositories, and faults injected per file.
public final class LoopbackHub: @unchecked Sendable {
    public struct File: Sendable {
        public var path: String
        public var content: LoopbackHTTPServer.SharedBytes
        public var lfs: Bool
        public var sha256: String
        public var gitOID: String
    }

    public struct Repo: Sendable {
        public var id: String
        public var commit: String
        public var files: [File]
        public var gated = false
    }

    /// A fault applied to CDN requests of one file.
    public enum Fault: Sendable {
        /// Close the connection after `bytes` body bytes, for the first `times` requests.
        case drop(after: Int, times: Int)
        /// Answer `status` (500, 503, 429…) for the first `times` requests.
        case status(Int, times: Int)
        /// Send `after` bytes then hang, for the first request.
        case stall(after: Int)
        /// Serve different bytes of the right length (always).
        case wrongBytes
        /// Serve different bytes for the first `times` requests only.
        case wrongBytesOnce
        /// Ignore Range headers and always send the whole file with 200.
        case ignoreRanges
        /// Close the first connection after `after` bytes, then answer 500 to every request (the
        /// client gives up with part of the file on disk).
        case dropThenFail(after: Int)
        /// `/resolve` answers with another file's X-Linked-Etag (a proxy or a changed repository).
        case wrongLinkedEtag
    }

    public let hub: LoopbackHTTPServer
    public let cdn: LoopbackHTTPServer
    /// A token with access to every repository, gated ones included.
    public let token = "hf_test_token"
    /// A valid token whose account has not been granted access to the gated repositories.
    public let tokenWithoutAccess = "hf_test_no_access"
    private let state: State

    final class State: @unchecked Sendable {
        // Guarded by `lock`.
        let lock = NSLock()
        var repos: [String: Repo] = [:]
        var faults: [String: Fault] = [:]
        var requestCounts: [String: Int] = [:]
        var bytesServed: [String: Int] = [:]
        var cdnAuthorizations = 0
        /// Faults that changed an answer, per file: what a test checks so that it cannot pass with
        /// an injector that does nothing.
        var faultsFired: [String: Int] = [:]
        var pageSize = 2
        /// Serve LFS files as the hub does since its move to Xet storage.
        var xet = false
        var bytesPerSecond: Int?
    }

    public init() throws {
        let state = State()
        self.state = state
        let cdn = try LoopbackHTTPServer { request in LoopbackHub.serveCDN(request, state: state) }
        self.cdn = cdn
        let cdnBase = cdn.baseURL
        let tokens = Tokens(full: token, withoutAccess: tokenWithoutAccess)
        hub = try LoopbackHTTPServer { request in
            LoopbackHub.serveHub(request, state: state, cdnBase: cdnBase, tokens: tokens)
        }
    }

    /// Endpoint to put in HF_ENDPOINT.
    public var endpoint: String { hub.baseURL }

    /// Stops both servers (they also stop when released).
    public func stop() {
        hub.stop()
        cdn.stop()
    }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String { Hex.encode(bytes) }

    /// Adds a repository; files larger than `lfsThreshold` are LFS files (redirected to the CDN).
    @discardableResult
    public func addRepo(_ id: String, files: [(String, [UInt8])], gated: Bool = false, lfsThreshold: Int = 1024) -> Repo
    {
        let commit = LoopbackHub.hex(Insecure.SHA1.hash(data: Array(id.utf8)))
        let repo = Repo(
            id: id, commit: commit,
            files: files.map { path, bytes in
                File(
                    path: path, content: .init(bytes), lfs: bytes.count > lfsThreshold,
                    sha256: LoopbackHub.hex(SHA256.hash(data: bytes)),
                    gitOID: LoopbackHub.hex(Insecure.SHA1.hash(data: Array("blob \(bytes.count)\0".utf8) + bytes)))
            }, gated: gated)
        state.lock.lock()
        state.repos[id] = repo
        state.lock.unlock()
        return repo
    }

    /// A repository with, besides `files`, large files served from sparse local files by ranges
    /// (shape twins of real checkpoints). Their listed SHA-256 and git id are stand-ins (digests
    /// of the path): hashing gigabytes of holes would prove nothing, so only clients that read
    /// ranges and never verify a whole file (`compat --remote`) may use such a repository.
    @discardableResult
    public func addRepo(
        _ id: String, files: [(String, [UInt8])], mapped: [(path: String, local: String)]
    ) throws
        -> Repo
    {
        var repo = addRepo(id, files: files)
        for (path, local) in mapped {
            let stand = LoopbackHub.hex(SHA256.hash(data: Array(path.utf8)))
            repo.files.append(
                File(
                    path: path, content: try .init(mapping: local), lfs: true, sha256: stand,
                    gitOID: String(stand.prefix(40))))
        }
        state.lock.lock()
        state.repos[id] = repo
        state.lock.unlock()
        return repo
    }

    /// Serves LFS files as the hub does since it moved them to Xet storage: `/resolve/` answers
    /// with a redirect to a bridge that serves byte ranges (`/xet-bridge/<xet hash>` here) and adds
    /// `X-Xet-Hash` beside `X-Linked-Etag`, `X-Linked-Size` and `X-Repo-Commit`. The Xet hash is
    /// not the SHA-256 (it names the content in Xet's own addressing); clients check the LFS
    /// SHA-256 from the listing as before.
    public func setXet(_ on: Bool) {
        state.lock.lock()
        state.xet = on
        state.lock.unlock()
    }

    /// The Xet hash this imitation gives a file (a stand-in: SHA-256 of "xet:" + the LFS oid).
    public static func xetHash(_ file: File) -> String { hex(SHA256.hash(data: Array(("xet:" + file.sha256).utf8))) }

    /// Limits every CDN connection to `bytesPerSecond`.
    public func setRateLimit(_ bytesPerSecond: Int?) {
        state.lock.lock()
        state.bytesPerSecond = bytesPerSecond
        state.lock.unlock()
    }

    public func setFault(_ fault: Fault?, for path: String) {
        state.lock.lock()
        state.faults[path] = fault
        state.requestCounts[path] = 0
        state.lock.unlock()
    }

    /// Body bytes the CDN (or the hub, for small files) sent for `path`.
    public func bytesServed(_ path: String) -> Int {
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.bytesServed[path] ?? 0
    }

    public func resetCounters() {
        state.lock.lock()
        state.bytesServed = [:]
        state.requestCounts = [:]
        state.faultsFired = [:]
        state.lock.unlock()
    }

    /// How many answers for `path` a fault changed (a status sent, a connection dropped or stalled,
    /// wrong bytes, a range ignored, a wrong header).
    public func faultsFired(_ path: String) -> Int {
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.faultsFired[path] ?? 0
    }

    /// Requests for `path` that reached the hub or the CDN.
    public func requests(_ path: String) -> Int {
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.requestCounts[path] ?? 0
    }

    /// Requests that reached the CDN with an Authorization header (must stay 0).
    public var cdnAuthorizations: Int {
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.cdnAuthorizations
    }

    static func json(
        _ value: JSONValue, status: Int = 200, headers: [(String, String)] = []
    ) -> LoopbackHTTPServer.Response {
        LoopbackHTTPServer.Response(
            status: status, headers: [("Content-Type", "application/json")] + headers,
            body: Array(value.serialized().utf8))
    }

    struct Tokens: Sendable {
        var full: String
        var withoutAccess: String
    }

    static func serveHub(
        _ r: LoopbackHTTPServer.Request, state: State, cdnBase: String, tokens: Tokens
    ) -> LoopbackHTTPServer.Response {
        let path = r.path.removingPercentEncoding ?? r.path
        state.lock.lock()
        let repos = state.repos
        let pageSize = state.pageSize
        state.lock.unlock()
        func repoFor(_ id: String) -> Repo? { repos[id] }
        // As the hub answers: a token it does not know is refused on every request; a gated
        // repository's metadata and listing are public, its files need a token with access
        // (401 without a token, 403 with one that was not granted access).
        let authorization = r.header("authorization")
        if let authorization, authorization != "Bearer \(tokens.full)",
            authorization != "Bearer \(tokens.withoutAccess)"
        {
            let message = "Invalid credentials in Authorization header"
            return json(.object([("error", .string(message))]), status: 401, headers: [("X-Error-Message", message)])
        }
        func denied(_ repo: Repo) -> LoopbackHTTPServer.Response? {
            guard repo.gated, authorization != "Bearer \(tokens.full)" else { return nil }
            if authorization == nil {
                let message =
                    "Access to model \(repo.id) is restricted. You must have access to it and be authenticated to access it. Please log in."
                return json(
                    .object([("error", .string(message))]), status: 401,
                    headers: [("X-Error-Code", "GatedRepo"), ("X-Error-Message", message)])
            }
            let message =
                "Access to model \(repo.id) is restricted and you are not in the authorized list. Visit https://huggingface.co/\(repo.id) to ask for access."
            return json(
                .object([("error", .string(message))]), status: 403,
                headers: [("X-Error-Code", "GatedRepo"), ("X-Error-Message", message)])
        }
        if path.hasPrefix("/api/models/") {
            let rest = path.dropFirst("/api/models/".count).split(separator: "?", maxSplits: 1)
            let parts = rest[0].split(separator: "/").map(String.init)
            guard parts.count >= 4, let repo = repoFor(parts[0] + "/" + parts[1]) else {
                return json(
                    .object([("error", .string("Repository not found"))]), status: 404,
                    headers: [("X-Error-Code", "RepoNotFound")])
            }
            if parts[2] == "revision" {
                // As the hub: "gated" is false, or how access is granted.
                return json(
                    .object([
                        ("id", .string(repo.id)), ("sha", .string(repo.commit)),
                        ("gated", repo.gated ? .string("manual") : .bool(false)),
                    ]))
            }
            if parts[2] == "tree" {
                let query = rest.count > 1 ? String(rest[1]) : ""
                let cursor =
                    query.split(separator: "&").compactMap { $0.hasPrefix("cursor=") ? Int($0.dropFirst(7)) : nil }
                    .first ?? 0
                let page = repo.files[min(cursor, repo.files.count)..<min(cursor + pageSize, repo.files.count)]
                let entries: [JSONValue] = page.map { f in
                    var m: [(String, JSONValue)] = [
                        ("type", .string("file")), ("oid", .string(f.gitOID)), ("size", .int(f.content.count)),
                        ("path", .string(f.path)),
                    ]
                    if f.lfs {
                        m.append(
                            (
                                "lfs",
                                .object([
                                    ("oid", .string(f.sha256)), ("size", .int(f.content.count)),
                                    ("pointerSize", .int(134)),
                                ])
                            ))
                    }
                    return .object(m)
                }
                var headers: [(String, String)] = []
                if cursor + pageSize < repo.files.count {
                    headers.append(
                        (
                            "Link",
                            "<http://127.0.0.1:\(r.header("host")?.split(separator: ":").last ?? "0")/api/models/\(repo.id)/tree/\(parts[3])?recursive=true&cursor=\(cursor + pageSize)>; rel=\"next\""
                        ))
                }
                return json(.array(entries), headers: headers)
            }
        }
        // /{org}/{name}/resolve/{rev}/{path}
        let parts = path.split(separator: "/", maxSplits: 4).map(String.init)
        if parts.count == 5, parts[2] == "resolve", let repo = repoFor(parts[0] + "/" + parts[1]) {
            if let d = denied(repo) { return d }
            guard let file = repo.files.first(where: { $0.path == parts[4] }) else {
                return json(
                    .object([("error", .string("Entry not found"))]), status: 404,
                    headers: [("X-Error-Code", "EntryNotFound")])
            }
            if file.lfs {
                state.lock.lock()
                let wrong: Bool
                if case .wrongLinkedEtag? = state.faults[file.path] { wrong = true } else { wrong = false }
                if wrong { state.faultsFired[file.path, default: 0] += 1 }
                let xet = state.xet
                state.lock.unlock()
                let location =
                    xet
                    ? "\(cdnBase)/xet-bridge/\(xetHash(file))?path=\(file.path)"
                    : "\(cdnBase)/blobs/\(file.sha256)?path=\(file.path)"
                return LoopbackHTTPServer.Response(
                    status: 302,
                    headers: [
                        ("Location", location),
                        ("X-Repo-Commit", repo.commit),
                        ("X-Linked-Etag", "\"\(wrong ? String(repeating: "0", count: 64) : file.sha256)\""),
                        ("X-Linked-Size", "\(file.content.count)"),
                    ] + (xet ? [("X-Xet-Hash", xetHash(file))] : []))
            }
            return serveBytes(
                r, file: file, key: file.path, state: state,
                extra: [("X-Repo-Commit", repo.commit), ("ETag", "\"\(file.gitOID)\"")])
        }
        return json(.object([("error", .string("not found"))]), status: 404)
    }

    static func serveCDN(_ r: LoopbackHTTPServer.Request, state: State) -> LoopbackHTTPServer.Response {
        state.lock.lock()
        if r.header("authorization") != nil { state.cdnAuthorizations += 1 }
        let repos = state.repos
        state.lock.unlock()
        let path = r.path.split(separator: "?").first.map(String.init) ?? ""
        let files = repos.values.flatMap(\.files)
        let found: File?
        if path.hasPrefix("/xet-bridge/") {
            let hash = String(path.dropFirst("/xet-bridge/".count))
            found = files.first { $0.lfs && xetHash($0) == hash }
        } else {
            let sha = String(path.dropFirst("/blobs/".count))
            found = files.first { $0.sha256 == sha }
        }
        guard let file = found else { return LoopbackHTTPServer.Response(status: 404) }
        return serveBytes(r, file: file, key: file.path, state: state, extra: [])
    }

    static func serveBytes(
        _ r: LoopbackHTTPServer.Request, file: File, key: String, state: State,
        extra: [(String, String)]
    ) -> LoopbackHTTPServer.Response {
        state.lock.lock()
        let count = state.requestCounts[key, default: 0]
        state.requestCounts[key] = count + 1
        let fault = state.faults[key]
        let limit = state.bytesPerSecond
        state.lock.unlock()
        let size = file.content.count
        var content = file.content
        func fired() {
            state.lock.lock()
            state.faultsFired[key, default: 0] += 1
            state.lock.unlock()
        }
        switch fault {
        case let .status(code, times)? where count < times:
            fired()
            return LoopbackHTTPServer.Response(status: code, headers: code == 429 ? [("Retry-After", "0")] : [])
        case .dropThenFail? where count > 0:
            fired()
            return LoopbackHTTPServer.Response(status: 500)
        case .wrongBytes?:
            fired()
            content = .init(file.content.bytes.map { $0 ^ 0x5A })
        case .wrongBytesOnce? where count == 0:
            fired()
            content = .init(file.content.bytes.map { $0 ^ 0x5A })
        default: break
        }
        var range = 0..<size
        var status = 200
        var headers = extra + [("Accept-Ranges", "bytes")]
        if case .ignoreRanges? = fault {
            // whole file, 200
            if r.range(size: size) != nil { fired() }
        } else if let rr = r.range(size: size) {
            range = rr
            status = 206
            headers.append(("Content-Range", "bytes \(rr.lowerBound)-\(rr.upperBound - 1)/\(size)"))
        }
        var response = LoopbackHTTPServer.Response(status: status, headers: headers)
        response.file = content
        response.fileRange = range
        response.bytesPerSecond = limit
        switch fault {
        case let .drop(after, times)? where count < times && after < range.count:
            fired()
            response.dropAfter = after
        case let .dropThenFail(after)? where after < range.count:
            fired()
            response.dropAfter = after
        case let .stall(after)? where count == 0 && after < range.count:
            fired()
            response.stallAfter = after
        default: break
        }
        let served = min(range.count, response.dropAfter ?? Int.max, response.stallAfter ?? Int.max)
        state.lock.lock()
        state.bytesServed[key, default: 0] += served
        state.lock.unlock()
        return response
    }
}
