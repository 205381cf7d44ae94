internal import CCurl
import Foundation

/// One HTTP request, as hasskit makes them.
struct HTTPRequest: Sendable {
    var method = "GET"
    var url: String
    var headers: [(String, String)] = []
    /// Inclusive byte range to request, or nil for the whole body.
    var range: ClosedRange<UInt64>?
    /// Starting offset for an open-ended range (`bytes=N-`).
    var rangeFrom: UInt64?
    var connectTimeout: Double = 10
    /// Abort when fewer than `stallBytesPerSecond` arrive for `stallSeconds` (stall detection).
    var stallSeconds = 30
    var stallBytesPerSecond = 1
    /// A request body (POST); libcurl copies it before the transfer starts.
    var body: [UInt8]?
}

/// Status and headers of a response. Header names are lower-cased (HTTP/2 sends them so anyway).
struct HTTPResponse: Sendable {
    var status: Int
    var headers: [String: String]
    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// The only place libcurl is called. One transfer per `perform` on a fresh easy handle; redirects
/// are never followed here (the hub client follows them itself so that `Authorization` never goes
/// to another host).
enum CurlTransfer {
    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_ALL))
    }()

    /// libcurl's version string, for reports.
    static var version: String {
        _ = globalInit
        guard let info = ccurl_version_info(), let v = info.pointee.version else { return "unknown" }
        return String(cString: v)
    }

    /// Performs `request`, streaming the body to `body`, which returns false to abort.
    /// - Throws: `HubError.network` for transport failures (including a stall or an abort).
    /// `accept` sees the status and headers once, before the first body byte; returning false
    /// aborts the transfer.
    static func perform(
        _ request: HTTPRequest, body: @escaping (UnsafeRawBufferPointer) -> Bool,
        onStatus: @escaping (Int) -> Void = { _ in },
        accept: @escaping (Int, [String: String]) -> Bool = { _, _ in true }
    ) throws(HubError) -> HTTPResponse {
        _ = globalInit
        guard let handle = curl_easy_init() else {
            throw HubError(.network("curl_easy_init failed"), location: request.url)
        }
        defer { curl_easy_cleanup(handle) }
        let box = TransferBox(body: body, onStatus: onStatus, accept: accept)
        let unmanaged = Unmanaged.passRetained(box)
        defer { unmanaged.release() }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (k, v) in request.headers { headerList = curl_slist_append(headerList, "\(k): \(v)") }
        // The hub must report real sizes: no transparent compression.
        headerList = curl_slist_append(headerList, "Accept-Encoding: identity")
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { err in
            _ = ccurl_setopt_str(handle, CURLOPT_URL, request.url)
            _ = ccurl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, err.baseAddress)
            _ = ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            _ = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = ccurl_setopt_long(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
            _ = ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout * 1000))
            _ = ccurl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, request.stallBytesPerSecond)
            _ = ccurl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, request.stallSeconds)
            _ = ccurl_setopt_str(handle, CURLOPT_USERAGENT, "hasskit/0.1 (libcurl)")
            if request.method == "HEAD" {
                _ = ccurl_setopt_long(handle, CURLOPT_NOBODY, 1)
            } else if request.method != "GET" {
                _ = ccurl_setopt_str(handle, CURLOPT_CUSTOMREQUEST, request.method)
            }
            if let body = request.body {
                _ = ccurl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
                _ = body.withUnsafeBytes {
                    ccurl_setopt_ptr(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress))
                }
            }
            if let r = request.range {
                _ = ccurl_setopt_str(handle, CURLOPT_RANGE, "\(r.lowerBound)-\(r.upperBound)")
            } else if let from = request.rangeFrom, from > 0 {
                _ = ccurl_setopt_str(handle, CURLOPT_RANGE, "\(from)-")
            }
            _ = ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
            _ = ccurl_setopt_write(handle, curlWrite)
            _ = ccurl_setopt_ptr(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque())
            _ = ccurl_setopt_header(handle, curlHeader)
            _ = ccurl_setopt_ptr(handle, CURLOPT_HEADERDATA, unmanaged.toOpaque())
            return curl_easy_perform(handle)
        }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        if code != CURLE_OK {
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            if box.aborted { throw HubError(.network("transfer stopped by hasskit"), location: request.url) }
            throw HubError(.network(message), location: request.url)
        }
        return HTTPResponse(status: status, headers: box.headers)
    }
}

/// State shared with the C callbacks of one transfer (kept alive by `Unmanaged` for its duration).
private final class TransferBox {
    let body: (UnsafeRawBufferPointer) -> Bool
    let onStatus: (Int) -> Void
    let accept: (Int, [String: String]) -> Bool
    var headers: [String: String] = [:]
    var status = 0
    var checked = false
    var aborted = false

    init(
        body: @escaping (UnsafeRawBufferPointer) -> Bool, onStatus: @escaping (Int) -> Void,
        accept: @escaping (Int, [String: String]) -> Bool
    ) {
        self.body = body
        self.onStatus = onStatus
        self.accept = accept
    }
}

private func curlWrite(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let box = Unmanaged<TransferBox>.fromOpaque(context).takeUnretainedValue()
    let n = size * count
    if !box.checked {
        box.checked = true
        if !box.accept(box.status, box.headers) {
            box.aborted = true
            return 0
        }
    }
    let ok = box.body(UnsafeRawBufferPointer(start: data, count: n))
    if !ok { box.aborted = true }
    return ok ? n : 0
}

private func curlHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context, let data else { return 0 }
    let box = Unmanaged<TransferBox>.fromOpaque(context).takeUnretainedValue()
    let n = size * count
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        box.headers = [:]  // a new response (e.g. after 100 Continue): forget earlier headers
        let parts = line.split(separator: " ")
        if parts.count >= 2, let code = Int(parts[1]) {
            box.status = code
            box.checked = false
            box.onStatus(code)
        }
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        box.headers[name] = value
    }
    return n
}
