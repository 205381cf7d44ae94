import Checks
import Dispatch
import Hub
import Inference
import StrictJSON

/// The serving engines `check --server` speaks to, each through its own API.
public enum ServingEngine: String, Sendable, CaseIterable {
    /// SGLang's native `/generate`: token ids in and out, and per request `meta_info` with
    /// `completion_tokens` and `spec_verify_ct` (verification passes).
    case sglang
    /// vLLM's OpenAI-compatible `/v1/completions` (token ids as the prompt, `return_token_ids`),
    /// and its Prometheus `/metrics` spec-decode counters for τ.
    case vllm
}

/// `check --server`: the smoke test against a serving engine the pair was exported to. The
/// prompts go at temperature 0; each output is compared token by token with a plain run (a second
/// server without speculation, or hasskit's own engine when the base fits), τ comes from the
/// engine's own counters, and throughput from the wall time of its answers.
public struct ServerCheck: Sendable {
    public struct Result: Sendable {
        public var prompt: [Int]
        public var speculative: [Int]
        public var plain: [Int]
        /// The first position where the outputs differ, nil when identical.
        public var firstDifference: Int? {
            zip(speculative, plain).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? (speculative.count == plain.count ? nil : min(speculative.count, plain.count))
        }
    }

    public var engine: ServingEngine
    public var results: [Result] = []
    /// Tokens per verification pass, from the engine's counters (nil when it reports none: a
    /// server running without speculation).
    public var tau: Double?
    public var speculativeTokensPerSecond = 0.0
    public var plainTokensPerSecond = 0.0

    public var identical: Bool { results.allSatisfy { $0.firstDifference == nil } }

    /// Where the plain outputs come from.
    public enum Plain {
        case server(String, ServingEngine)
        case engine(any CausalModel)
    }

    /// Engines differ in whether an answer ends with its stop token; every output is compared
    /// up to its first stop token, exclusive.
    static func trimmed(_ tokens: [Int], _ stops: Set<Int>) -> [Int] {
        Array(tokens.prefix { !stops.contains($0) })
    }

    public static func run(
        server: String, engine: ServingEngine, plain: Plain, prompts: [[Int]], maxTokens: Int, stopTokens: Set<Int>
    ) throws -> ServerCheck {
        var check = ServerCheck(engine: engine)
        let client = try ServingClient(url: server, engine: engine)
        let before = try client.counters()
        var spec: [[Int]] = []
        var specSeconds = 0.0, verify = 0, generated = 0
        for p in prompts {
            let started = DispatchTime.now().uptimeNanoseconds
            let answer = try client.generate(p, maxTokens: maxTokens)
            specSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            spec.append(trimmed(answer.output, stopTokens))
            generated += answer.output.count
            verify += answer.verifyPasses ?? 0
        }
        let after = try client.counters()
        switch engine {
        case .sglang: check.tau = verify > 0 ? Double(generated) / Double(verify) : nil
        case .vllm:
            if let a = after, let b = before, a.drafts > b.drafts {
                check.tau = 1 + (a.accepted - b.accepted) / (a.drafts - b.drafts)
            }
        }
        check.speculativeTokensPerSecond = specSeconds > 0 ? Double(generated) / specSeconds : 0
        var plainSeconds = 0.0, plainTokens = 0
        let plainOutput: ([Int]) throws -> [Int]
        switch plain {
        case let .server(url, kind):
            let client = try ServingClient(url: url, engine: kind)
            plainOutput = { try client.generate($0, maxTokens: maxTokens).output }
        case let .engine(model):
            plainOutput = { model.generate(prompt: $0, maxTokens: maxTokens, sampling: .greedy) }
        }
        for (i, p) in prompts.enumerated() {
            let started = DispatchTime.now().uptimeNanoseconds
            let out = trimmed(try plainOutput(p), stopTokens)
            plainSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            plainTokens += out.count
            check.results.append(Result(prompt: p, speculative: spec[i], plain: out))
        }
        check.plainTokensPerSecond = plainSeconds > 0 ? Double(plainTokens) / plainSeconds : 0
        return check
    }

    /// The `check --json` shape, with the engine's counters in place of the local tree's.
    public func json(maxTokens: Int, server: String) -> JSONValue {
        func rounded(_ x: Double, _ d: Double) -> JSONValue { .double((x * d).rounded() / d) }
        let speedup = plainTokensPerSecond > 0 ? speculativeTokensPerSecond / plainTokensPerSecond : 0
        return .object([
            ("identical", .bool(identical)), ("prompts", .int(results.count)),
            ("acceptance_length", tau.map { rounded($0, 1000) } ?? .null),
            ("accept_rate_by_depth", .null),
            ("vanilla_tokens_per_second", rounded(plainTokensPerSecond, 10)),
            ("speculative_tokens_per_second", rounded(speculativeTokensPerSecond, 10)),
            ("speedup", rounded(speedup, 1000)), ("tree", .null), ("max_tokens", .int(maxTokens)),
            ("temperature", .double(0)), ("server", .string(server)), ("engine", .string(engine.rawValue)),
            (
                "first_differences",
                .array(results.map { $0.firstDifference.map { .int($0) } ?? .null })
            ),
        ])
    }
}

/// One serving engine's API: greedy generation from token ids, and its speculation counters.
struct ServingClient {
    let url: String
    let engine: ServingEngine
    /// vLLM's served model name (`/v1/models`), which every request must carry.
    let model: String?

    init(url: String, engine: ServingEngine) throws {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.engine = engine
        if engine == .vllm {
            let models = try JSONParser().parse(try EngineHTTP.get(self.url + "/v1/models"))
            guard let id = models["data"]?.arrayValue?.first?["id"]?.stringValue else {
                throw HubError(.protocolViolation("/v1/models names no model"), location: self.url)
            }
            model = id
        } else {
            model = nil
        }
    }

    /// The greedy continuation of `ids`, and (SGLang) how many verification passes it took.
    func generate(_ ids: [Int], maxTokens: Int) throws -> (output: [Int], verifyPasses: Int?) {
        let prompt = JSONValue.array(ids.map { .int($0) })
        switch engine {
        case .sglang:
            let answer = try JSONParser().parse(
                try EngineHTTP.post(
                    url + "/generate",
                    json: .object([
                        ("input_ids", prompt),
                        (
                            "sampling_params",
                            .object([("temperature", .int(0)), ("max_new_tokens", .int(maxTokens))])
                        ),
                    ])))
            guard let out = answer["output_ids"]?.arrayValue?.compactMap(\.intValue) else {
                throw HubError(.protocolViolation("/generate answered without output_ids"), location: url)
            }
            return (out, answer["meta_info"]?["spec_verify_ct"]?.intValue)
        case .vllm:
            let answer = try JSONParser().parse(
                try EngineHTTP.post(
                    url + "/v1/completions",
                    json: .object([
                        ("model", .string(model ?? "")), ("prompt", prompt), ("max_tokens", .int(maxTokens)),
                        ("temperature", .int(0)), ("return_token_ids", .bool(true)),
                    ])))
            guard let out = answer["choices"]?.arrayValue?.first?["token_ids"]?.arrayValue?.compactMap(\.intValue)
            else {
                throw HubError(
                    .protocolViolation("/v1/completions answered without choices[0].token_ids (vLLM ≥ 0.10.2)"),
                    location: url)
            }
            return (out, nil)
        }
    }

    /// vLLM's cumulative spec-decode counters (drafts, accepted tokens); nil for SGLang, or when
    /// the server exports none (no speculation).
    func counters() throws -> (drafts: Double, accepted: Double)? {
        guard engine == .vllm else { return nil }
        let text = String(decoding: try EngineHTTP.get(url + "/metrics"), as: UTF8.self)
        func value(_ name: String) -> Double? {
            // Prometheus text: `name{labels} value`, summed over label sets (one per engine).
            let values = text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.hasPrefix(name) }.compactMap {
                line -> Double? in
                let rest = line.dropFirst(name.count)
                guard rest.first == "{" || rest.first == " " else { return nil }
                return line.split(separator: " ").last.flatMap { Double($0) }
            }
            return values.isEmpty ? nil : values.reduce(0, +)
        }
        guard let drafts = value("vllm:spec_decode_num_drafts_total"),
            let accepted = value("vllm:spec_decode_num_accepted_tokens_total")
        else { return nil }
        return (drafts, accepted)
    }
}
