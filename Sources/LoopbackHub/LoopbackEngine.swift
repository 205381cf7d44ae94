import Foundation
import StrictJSON

/// An imitation of a serving engine's API on loopback, for `check --server` tests: SGLang's
/// `/generate` (token ids in, `output_ids` and `meta_info` with `completion_tokens` and
/// `spec_verify_ct` out) or vLLM's `/v1/models`, `/v1/completions` (`return_token_ids`) and
/// Prometheus `/metrics` with the spec-decode counters. What it generates is the caller's
/// `answer`; with `tokensPerVerify` it reports speculation as an engine would (that many tokens
/// per verification pass), without it it is a plain server.
public final class LoopbackEngine: @unchecked Sendable {
    public enum Kind: String, Sendable { case sglang, vllm }

    public let server: LoopbackHTTPServer
    public var url: String { server.baseURL }

    /// vLLM's cumulative counters, shared by the connection threads.
    final class Counters: @unchecked Sendable {
        let lock = NSLock()
        var drafts = 0.0, accepted = 0.0
    }

    public init(
        _ kind: Kind, tokensPerVerify: Double? = nil, answer: @escaping @Sendable ([Int], Int) -> [Int]
    ) throws {
        let counters = Counters()
        server = try LoopbackHTTPServer { request in
            LoopbackEngine.handle(request, kind: kind, tokensPerVerify: tokensPerVerify, answer: answer, counters)
        }
    }

    public func stop() { server.stop() }

    static func handle(
        _ r: LoopbackHTTPServer.Request, kind: Kind, tokensPerVerify: Double?, answer: ([Int], Int) -> [Int],
        _ counters: Counters
    ) -> LoopbackHTTPServer.Response {
        let lock = counters.lock
        func json(_ v: JSONValue) -> LoopbackHTTPServer.Response {
            .init(status: 200, headers: [("Content-Type", "application/json")], body: Array(v.serialized().utf8))
        }
        let body = (try? JSONParser().parse(r.body)) ?? .null
        let ints: (JSONValue?) -> [Int] = { $0?.arrayValue?.compactMap(\.intValue) ?? [] }
        switch (kind, r.method, r.path) {
        case (.sglang, "POST", "/generate"):
            guard body["sampling_params"]?["temperature"]?.doubleValue == 0 else { return .init(status: 400) }
            let out = answer(ints(body["input_ids"]), body["sampling_params"]?["max_new_tokens"]?.intValue ?? 16)
            var meta: [(String, JSONValue)] = [
                ("prompt_tokens", .int(ints(body["input_ids"]).count)), ("completion_tokens", .int(out.count)),
            ]
            if let t = tokensPerVerify {
                meta.append(("spec_verify_ct", .int(Int((Double(out.count) / t).rounded(.up)))))
            }
            return json(
                .object([
                    ("text", .string("")), ("output_ids", .array(out.map { .int($0) })), ("meta_info", .object(meta)),
                ]))
        case (.vllm, "GET", "/v1/models"):
            return json(.object([("data", .array([.object([("id", .string("served-model"))])]))]))
        case (.vllm, "POST", "/v1/completions"):
            guard body["model"]?.stringValue == "served-model", body["temperature"]?.doubleValue == 0,
                body["return_token_ids"]?.boolValue == true
            else { return .init(status: 400) }
            let out = answer(ints(body["prompt"]), body["max_tokens"]?.intValue ?? 16)
            if let t = tokensPerVerify {
                let passes = (Double(out.count) / t).rounded(.up)
                lock.lock()
                counters.drafts += passes
                counters.accepted += Double(out.count) - passes
                lock.unlock()
            }
            return json(
                .object([
                    (
                        "choices",
                        .array([.object([("text", .string("")), ("token_ids", .array(out.map { .int($0) }))])])
                    )
                ]))
        case (.vllm, "GET", "/metrics"):
            lock.lock()
            defer { lock.unlock() }
            var text =
                "# HELP vllm:num_requests_running Number of requests.\nvllm:num_requests_running{model_name=\"served-model\"} 0.0\n"
            if tokensPerVerify != nil {
                text += "# TYPE vllm:spec_decode_num_drafts_total counter\n"
                text +=
                    "vllm:spec_decode_num_drafts_total{engine=\"0\",model_name=\"served-model\"} \(counters.drafts)\n"
                text +=
                    "vllm:spec_decode_num_accepted_tokens_total{engine=\"0\",model_name=\"served-model\"} \(counters.accepted)\n"
            }
            return .init(status: 200, body: Array(text.utf8))
        default:
            return .init(status: 404)
        }
    }
}
