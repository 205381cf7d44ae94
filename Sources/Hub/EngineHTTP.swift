import StrictJSON

/// Plain JSON over HTTP to a serving engine (SGLang, vLLM): what `check --server` asks of one.
/// No retries and no hub rules (tokens, redirects to a CDN): a local or cluster-internal server
/// that answers, or an error naming the URL and what it said.
public enum EngineHTTP {
    /// POSTs `json` to `url`; the answer's body, which must be 2xx.
    public static func post(_ url: String, json: JSONValue, timeout seconds: Int = 600) throws -> [UInt8] {
        var r = HTTPRequest(url: url)
        r.method = "POST"
        r.headers = [("Content-Type", "application/json")]
        r.body = Array(json.serialized().utf8)
        r.stallSeconds = seconds
        return try perform(r)
    }

    /// GETs `url` (a model list, Prometheus metrics); the body, which must be 2xx.
    public static func get(_ url: String) throws -> [UInt8] {
        var r = HTTPRequest(url: url)
        r.stallSeconds = 60
        return try perform(r)
    }

    static func perform(_ request: HTTPRequest) throws -> [UInt8] {
        var data: [UInt8] = []
        let response = try CurlTransfer.perform(request) { chunk in
            data.append(contentsOf: chunk)
            return data.count <= 64 << 20
        }
        guard (200...299).contains(response.status) else {
            let text = String(decoding: data.prefix(300), as: UTF8.self)
            throw HubError(.http(status: response.status, message: text), location: request.url)
        }
        return data
    }
}
