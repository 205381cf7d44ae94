/// Why a hub request or a download failed: what happened, with the URL or file concerned.
public struct HubError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// Connection-level failure (DNS, refused, reset, TLS, timeout, stall) from libcurl.
        case network(String)
        case http(status: Int, message: String)
        case gated(repo: String)
        case unauthorized(repo: String)
        case notFound(String)
        case integrity(file: String, expected: String, found: String)
        case sizeMismatch(file: String, expected: UInt64, found: UInt64)
        case notEnoughSpace(needed: UInt64, available: UInt64, folder: String)
        case protocolViolation(String)
        case offline(String)
        case io(String)
        case unsafePath(String)
        /// The server answered a byte-range request with the whole file (200).
        case rangeIgnored
    }

    public var code: Code
    /// The URL or path the failure concerns.
    public var location: String
    /// Seconds a 429/503 answer asked us to wait (`Retry-After`).
    public var retryAfter: Double?

    public init(_ code: Code, location: String) {
        self.code = code
        self.location = location
    }

    /// Worth retrying: a dropped connection, a stall, 5xx or 429.
    public var isTransient: Bool {
        switch code {
        case .network: return true
        case let .http(status, _): return status == 408 || status == 429 || (500...599).contains(status)
        default: return false
        }
    }

    public var description: String {
        switch code {
        case let .network(m): return "\(location): network error: \(m)"
        case let .http(s, m): return "\(location): HTTP \(s)\(m.isEmpty ? "" : ": " + m)"
        case let .gated(repo):
            return "\(repo) is a gated repository: accept its licence at https://huggingface.co/\(repo), then set HF_TOKEN (or run `hf auth login`) with a token of that account"
        case let .unauthorized(repo):
            return "\(repo): the hub refused the request (401): the repository is private, gated or does not exist; set HF_TOKEN if you have access"
        case let .notFound(what): return "\(location): not found: \(what)"
        case let .integrity(file, e, f): return "\(file): SHA-256 \(f) does not match the hub's \(e) (downloaded twice; the bytes are not kept)"
        case let .sizeMismatch(file, e, f): return "\(file): received \(f) bytes, the hub announced \(e)"
        case let .notEnoughSpace(n, a, folder): return "\(folder): needs \(n) bytes of free space for this download, \(a) available"
        case let .protocolViolation(m): return "\(location): unexpected answer: \(m)"
        case let .offline(m): return "offline (HF_HUB_OFFLINE is set): \(m)"
        case let .io(m): return "\(location): \(m)"
        case let .unsafePath(p): return "\(location): refusing the unsafe file path \"\(p)\""
        case .rangeIgnored: return "\(location): the server ignored a byte-range request"
        }
    }
}
