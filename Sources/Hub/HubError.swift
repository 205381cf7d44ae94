import Foundation
import Platform

/// Why a hub request or a download failed: what happened, with the URL or file concerned.
public struct HubError: Error, Sendable, CustomStringConvertible, ErrorWithCause {
    public enum Code: Sendable, Equatable {
        /// Connection-level failure (DNS, refused, reset, TLS, timeout, stall) from libcurl.
        case network(String)
        case http(status: Int, message: String)
        /// A gated repository whose files need a token with access (`tokenSent`: one was sent).
        case gated(repo: String, tokenSent: Bool)
        /// 401: private, gated or missing, as the hub will not say which.
        case unauthorized(repo: String, tokenSent: Bool)
        /// 403 for another reason than gating.
        case forbidden(repo: String, message: String)
        /// The hub rejected the token itself (401 "invalid credentials").
        case invalidToken
        case notFound(String)
        case integrity(file: String, expected: String, found: String)
        case sizeMismatch(file: String, expected: UInt64, found: UInt64)
        /// `needed` bytes are still to be written; `margin` is kept free on top of them.
        case notEnoughSpace(needed: UInt64, margin: UInt64, available: UInt64, folder: String)
        case protocolViolation(String)
        /// A lock file under `$HASSKIT_HOME/pairs` is damaged or names something unsafe.
        case badLock(String)
        case offline(String)
        case io(String)
        case unsafePath(String)
        /// The listing names a path as a file and as a folder of another file (or lists it twice).
        case notATree(String, String)
        /// The server answered a byte-range request with the whole file (200).
        case rangeIgnored
    }

    public var code: Code
    /// The URL or path the failure concerns.
    public var location: String
    /// Seconds a 429/503 answer asked us to wait (`Retry-After`).
    public var retryAfter: Double?
    /// The error underneath (a file-system error behind `.io`), for `--verbose`.
    public var cause: (any Error)?

    public init(_ code: Code, location: String, cause: (any Error)? = nil) {
        self.code = code
        self.location = location
        self.cause = cause
    }

    /// The hub refused the files (gated, private, or the token), as opposed to failing.
    public var isAccessDenial: Bool {
        switch code {
        case .gated, .unauthorized, .forbidden, .invalidToken: return true
        default: return false
        }
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
        case let .gated(repo, tokenSent):
            return tokenSent
                ? "\(repo) is a gated repository and the account of the token in use has not been granted access: accept its licence at https://huggingface.co/\(repo) (access can take a while to be granted); nothing was downloaded"
                : "\(repo) is a gated repository: accept its licence at https://huggingface.co/\(repo), then set HF_TOKEN (or run `hf auth login`) with a token of that account; nothing was downloaded"
        case let .unauthorized(repo, tokenSent):
            return tokenSent
                ? "\(repo): the hub refused the request (401) although a token was sent: the repository is private to another account, gated, or does not exist"
                : "\(repo): the hub refused the request (401): the repository is private, gated or does not exist; set HF_TOKEN if you have access"
        case let .forbidden(repo, message):
            return "\(repo): the hub refused access (403)\(message.isEmpty ? "" : ": " + message)"
        case .invalidToken:
            return
                "\(location): HF_TOKEN is set but the hub rejected it as invalid (revoked, expired or mistyped): check it, or unset it for public repositories"
        case let .notFound(what): return "\(location): not found: \(what)"
        case let .integrity(file, e, f):
            return "\(file): SHA-256 \(f) does not match the hub's \(e) (downloaded twice; the bytes are not kept)"
        case let .sizeMismatch(file, e, f): return "\(file): received \(f) bytes, the hub announced \(e)"
        case let .notEnoughSpace(n, m, a, folder):
            return
                "\(folder): this download needs \(ByteCount.format(n)) plus a margin of \(ByteCount.format(m)) kept free (\(ByteCount.format(n + m)) in all); \(ByteCount.format(a)) available"
        case let .protocolViolation(m): return "\(location): unexpected answer: \(m)"
        case let .badLock(m): return "\(location): lock file refused: \(m) (remove it and pull again to re-pin)"
        case let .offline(m): return "offline (HF_HUB_OFFLINE is set): \(m)"
        case let .io(m): return "\(location): \(m)"
        case let .unsafePath(p): return "\(location): refusing the unsafe file path \"\(p)\""
        case let .notATree(a, b):
            return a == b
                ? "\(location): the listing names \"\(a)\" twice; nothing was written"
                : "\(location): the listing has a file \"\(a)\" and a file \"\(b)\" inside it as a folder, which no git tree can hold; nothing was written"
        case .rangeIgnored: return "\(location): the server ignored a byte-range request"
        }
    }
}
