import Foundation
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.1 for tests and benchmarks: one thread per connection,
/// `Connection: close`, and a handler that decides the response, including faults (a body cut
/// short, a stall, a per-connection rate limit). It never listens beyond loopback.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        /// The body (`Content-Length` bytes; at most 16 MiB).
        public var body: [UInt8] = []
        public func header(_ name: String) -> String? { headers[name.lowercased()] }

        /// The `Range: bytes=a-b` of the request, clamped to `size`.
        public func range(size: Int) -> Range<Int>? {
            guard let r = header("range"), r.hasPrefix("bytes=") else { return nil }
            let spec = r.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false)
            guard spec.count == 2, let start = Int(spec[0]) else { return nil }
            let end = spec[1].isEmpty ? size - 1 : min(Int(spec[1]) ?? size - 1, size - 1)
            guard start >= 0, start <= end else { return nil }
            return start..<(end + 1)
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// Close the connection after this many body bytes (a dropped connection).
        public var dropAfter: Int?
        /// Stop sending (but keep the connection open) after this many body bytes.
        public var stallAfter: Int?
        /// Body bytes per second, per connection.
        public var bytesPerSecond: Int?
        /// Send the body from this shared buffer instead of `body` (large files without copies).
        public var file: SharedBytes?
        public var fileRange: Range<Int>?

        public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    /// Bytes shared by all connections (a served file): in memory, or a file mapped read-only
    /// (a sparse shape twin of many gigabytes, served by ranges).
    public final class SharedBytes: @unchecked Sendable {
        // Immutable after init.
        public let bytes: [UInt8]
        let mapped: ByteStorage?
        public init(_ bytes: [UInt8]) {
            self.bytes = bytes
            mapped = nil
        }
        public init(mapping path: String) throws {
            bytes = []
            mapped = try ByteStorage(mapping: path)
        }
        public var count: Int { mapped?.view.count ?? bytes.count }
        public subscript(range: Range<Int>) -> ArraySlice<UInt8> {
            guard let mapped else { return bytes[range] }
            return mapped.view.withUnsafeBytes { Array($0[range]) }[...]
        }
    }

    public let port: Int
    private let socket: Int32
    private let handler: @Sendable (Request) -> Response
    private let lock = NSLock()
    private var stopped = false
    private var requestsSeen: [Request] = []

    /// Starts listening on an ephemeral loopback port.
    public init(handler: @escaping @Sendable (Request) -> Response) throws {
        self.handler = handler
        let s = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw POSIXError(.EIO) }
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(s, 64) == 0 else {
            close(s)
            throw POSIXError(.EADDRINUSE)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) }
        }
        socket = s
        port = Int(UInt16(bigEndian: addr.sin_port))
        let t = Thread { [weak self] in self?.acceptLoop() }
        t.start()
    }

    deinit { stop() }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request received so far, in order.
    public var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return requestsSeen
    }

    public func stop() {
        lock.lock()
        let wasStopped = stopped
        stopped = true
        lock.unlock()
        if !wasStopped {
            shutdown(socket, Int32(SHUT_RDWR))
            close(socket)
        }
    }

    private func acceptLoop() {
        while true {
            let c = accept(socket, nil, nil)
            if c < 0 {
                lock.lock()
                let done = stopped
                lock.unlock()
                if done { return }
                continue
            }
            let t = Thread { [weak self] in
                self?.serve(c)
                close(c)
            }
            t.start()
        }
    }

    private func serve(_ c: Int32) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var headerEnd = buffer.headerEnd
        while headerEnd == nil {
            let n = recv(c, &chunk, chunk.count, 0)
            if n <= 0 || buffer.count > 64 << 10 { return }
            buffer.append(contentsOf: chunk[0..<n])
            headerEnd = buffer.headerEnd
        }
        guard let headerEnd else { return }
        var body = Array(buffer[headerEnd...])
        let text = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        let first = lines.removeFirst().split(separator: " ")
        guard first.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = min(Int(headers["content-length"] ?? "") ?? 0, 16 << 20)
        while body.count < length {
            let n = recv(c, &chunk, chunk.count, 0)
            if n <= 0 { return }
            body.append(contentsOf: chunk[0..<n])
        }
        let request = Request(method: String(first[0]), path: String(first[1]), headers: headers, body: body)
        lock.lock()
        requestsSeen.append(request)
        lock.unlock()
        let response = handler(request)
        var head = "HTTP/1.1 \(response.status) \(response.status < 400 ? "OK" : "Error")\r\n"
        let bodyLength = response.fileRange?.count ?? response.body.count
        var hasLength = false
        for (k, v) in response.headers {
            head += "\(k): \(v)\r\n"
            if k.lowercased() == "content-length" { hasLength = true }
        }
        if !hasLength { head += "Content-Length: \(bodyLength)\r\n" }
        head += "Connection: close\r\n\r\n"
        guard sendAll(c, Array(head.utf8)[...]) else { return }
        if request.method == "HEAD" { return }
        let source: ArraySlice<UInt8> =
            response.file.map { f in f[response.fileRange ?? 0..<f.count] } ?? response.body[...]
        var sent = 0
        let started = Date()
        while sent < source.count {
            if let drop = response.dropAfter, sent >= drop { return }
            if let stall = response.stallAfter, sent >= stall {
                Thread.sleep(forTimeInterval: 30)
                return
            }
            var n = min(64 << 10, source.count - sent)
            if let d = response.dropAfter { n = min(n, d - sent) }
            if let s = response.stallAfter { n = min(n, s - sent) }
            if let rate = response.bytesPerSecond {
                n = min(n, max(1, rate / 20))
                let due = Double(sent + n) / Double(rate) - Date().timeIntervalSince(started)
                if due > 0 { Thread.sleep(forTimeInterval: due) }
            }
            let start = source.startIndex + sent
            guard sendAll(c, source[start..<(start + n)]) else { return }
            sent += n
        }
    }

    private func sendAll(_ c: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var off = 0
        return bytes.withUnsafeBytes { raw in
            while off < raw.count {
                let n = send(c, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                off += n
            }
            return true
        }
    }
}

private extension Array where Element == UInt8 {
    /// The offset just past the blank line that ends the headers, nil until it has arrived.
    var headerEnd: Int? {
        guard count >= 4 else { return nil }
        for i in 0...(count - 4) where self[i] == 13 && self[i + 1] == 10 && self[i + 2] == 13 && self[i + 3] == 10 {
            return i + 4
        }
        return nil
    }
}
