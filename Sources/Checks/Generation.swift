import Foundation
import Inference
import StrictJSON
import Tokenizers

/// `hasskit run` below the command line: a prompt checked against the model's vocabulary and
/// trained positions, decoded plainly or speculatively, timed. The CLI parses and renders only.
public struct Generation {
    public struct Settings: Sendable {
        public var maxTokens: Int
        public var sampling: Sampling
        public var stopTokens: Set<Int>
        /// Decode past the positions the model was trained for instead of refusing up front.
        public var pastContext = false

        public init(maxTokens: Int, sampling: Sampling = .greedy, stopTokens: Set<Int> = []) {
            self.maxTokens = maxTokens
            self.sampling = sampling
            self.stopTokens = stopTokens
        }
    }

    public struct Result: Sendable {
        public var prompt: [Int]
        public var output: [Int]
        /// The prompt pass (to the first token) and the rest, for plain and speculative decoding.
        public var prefillSeconds: Double
        public var decodeSeconds: Double
        /// Speculative decoding: the mean tokens per base pass and the base passes.
        public var tau: Double?
        public var basePasses: Int?

        public var seconds: Double { prefillSeconds + decodeSeconds }

        /// The `--json` document, with the decoded text when a tokenizer is known.
        public func json(tokenizer: Tokenizer?) -> JSONValue {
            func rate(_ n: Int, _ s: Double) -> JSONValue { .double((Double(n) / max(s, 1e-9) * 10).rounded() / 10) }
            var members: [(String, JSONValue)] = [
                ("prompt_ids", .array(prompt.map { .int($0) })), ("output_ids", .array(output.map { .int($0) })),
                ("text", tokenizer.map { .string($0.decode(output)) } ?? .null),
            ]
            members += [
                ("prefill_tokens_per_second", rate(prompt.count, prefillSeconds)),
                ("decode_tokens_per_second", rate(output.count, decodeSeconds)),
            ]
            if let tau, let basePasses {
                members += [
                    ("tokens_per_second", rate(output.count, seconds)),
                    ("acceptance_length", .double((tau * 1000).rounded() / 1000)),
                    ("base_forward_passes", .int(basePasses)),
                ]
            }
            return .object(members)
        }
    }

    public let model: any CausalModel
    public let path: String

    public init(model: any CausalModel, path: String) {
        self.model = model
        self.path = path
    }

    /// Refuses a prompt the model cannot take: an id outside its vocabulary, or a prompt plus
    /// `maxTokens` beyond the positions it was trained for (unless `pastContext`), with the numbers.
    public func validate(prompt: [Int], settings: Settings, extra: Int = 0) throws {
        if let bad = prompt.first(where: { $0 < 0 || $0 >= model.vocabularySize }) {
            throw CheckError(.outsideVocabulary(id: bad, vocabulary: model.vocabularySize), path: path)
        }
        if !settings.pastContext, let context = model.contextLength, prompt.count + settings.maxTokens + extra > context
        {
            throw CheckError(
                .pastContext(prompt: prompt.count, maxTokens: settings.maxTokens + extra, context: context), path: path)
        }
    }

    /// Plain decoding; `onToken` sees each token as it is chosen.
    public func plain(prompt: [Int], settings: Settings, onToken: (Int) -> Void = { _ in }) throws -> Result {
        try validate(prompt: prompt, settings: settings)
        let t0 = Date()
        var firstToken: Date?
        let output = model.generate(
            prompt: prompt, maxTokens: settings.maxTokens, stopTokens: settings.stopTokens,
            sampling: settings.sampling
        ) { token in
            if firstToken == nil { firstToken = Date() }
            onToken(token)
        }
        // The first token comes right after the prefill pass (its argmax is negligible).
        let t1 = firstToken ?? Date()
        return Result(
            prompt: prompt, output: output, prefillSeconds: t1.timeIntervalSince(t0),
            decodeSeconds: Date().timeIntervalSince(t1))
    }

    /// Speculative decoding with `draft` over trees of `tree`; the output is the plain one's
    /// (greedy) or follows the base's distribution (sampling).
    public func speculative(
        prompt: [Int], draft: any FeatureDraft, tree: TreeSettings, settings: Settings
    ) throws -> Result {
        // A verified tree writes up to depth + 1 positions past the output into the cache.
        try validate(prompt: prompt, settings: settings, extra: tree.depth + 1)
        let decoder = SpeculativeDecoder(base: model, head: draft, settings: tree)
        let t0 = Date()
        let r = decoder.generate(
            prompt: prompt, maxNewTokens: settings.maxTokens, stopTokens: settings.stopTokens,
            sampling: settings.sampling)
        let seconds = Date().timeIntervalSince(t0)
        return Result(
            prompt: prompt, output: r.tokens, prefillSeconds: r.prefillSeconds,
            decodeSeconds: max(0, seconds - r.prefillSeconds), tau: r.tau, basePasses: r.basePasses)
    }
}
