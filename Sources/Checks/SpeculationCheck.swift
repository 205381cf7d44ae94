import Inference
import Foundation

/// `hasskit check`'s measurement: every prompt decoded twice, plainly and through the draft tree,
/// outputs compared token for token, acceptance counted the way HASS counts it.
public struct SpeculationCheck: Sendable {
    /// One prompt's outcome.
    public struct PromptResult: Sendable {
        public var plain: [Int]
        public var speculative: [Int]
        public var acceptLengths: [Int]
        public var plainSeconds: Double
        public var speculativeSeconds: Double

        public init(
            plain: [Int], speculative: [Int], acceptLengths: [Int], plainSeconds: Double, speculativeSeconds: Double
        ) {
            self.plain = plain
            self.speculative = speculative
            self.acceptLengths = acceptLengths
            self.plainSeconds = plainSeconds
            self.speculativeSeconds = speculativeSeconds
        }
        /// Index of the first differing token, nil when the outputs are identical.
        public var firstDifference: Int? {
            if plain == speculative { return nil }
            return zip(plain, speculative).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(plain.count, speculative.count)
        }
    }

    public var settings: TreeSettings
    public var results: [PromptResult] = []

    public init(settings: TreeSettings, results: [PromptResult] = []) {
        self.settings = settings
        self.results = results
    }

    public var identical: Bool { results.allSatisfy { $0.firstDifference == nil } }

    /// τ over all prompts: tokens committed per base verification pass, bonus token included
    /// (HASS's definition; the prefill pass is not counted).
    public var tau: Double {
        let steps = results.reduce(0) { $0 + $1.acceptLengths.count }
        let accepted = results.reduce(0) { $0 + $1.acceptLengths.reduce(0, +) }
        return steps == 0 ? 0 : Double(accepted + steps) / Double(steps)
    }

    /// For each draft level d = 1…depth+1: of the steps that accepted the first d−1 drafted tokens,
    /// the fraction that also accepted the d-th (nil where no step got that far).
    public var acceptRateByDepth: [Double?] {
        let lengths = results.flatMap(\.acceptLengths)
        return (1...(settings.depth + 1)).map { d in
            let reached = lengths.filter { $0 >= d - 1 }.count
            return reached == 0 ? nil : Double(lengths.filter { $0 >= d }.count) / Double(reached)
        }
    }

    public var plainTokensPerSecond: Double {
        Self.rate(results.reduce(0) { $0 + $1.plain.count }, results.reduce(0) { $0 + $1.plainSeconds })
    }

    public var speculativeTokensPerSecond: Double {
        Self.rate(results.reduce(0) { $0 + $1.speculative.count }, results.reduce(0) { $0 + $1.speculativeSeconds })
    }

    /// Wall-clock speed-up of speculative over plain decoding, both measured in this run.
    public var speedup: Double {
        plainTokensPerSecond == 0 ? 0 : speculativeTokensPerSecond / plainTokensPerSecond
    }

    static func rate(_ tokens: Int, _ seconds: Double) -> Double { seconds > 0 ? Double(tokens) / seconds : 0 }

    /// Decodes each prompt plainly, then speculatively (same stop rule and token budget).
    /// `progress` is called after each prompt with its index and result.
    public static func run(
        base: any CausalModel, head: any FeatureDraft, settings: TreeSettings, prompts: [[Int]],
        maxNewTokens: Int, stopTokens: Set<Int> = [], sampling: Sampling = .greedy,
        progress: (Int, PromptResult) -> Void = { _, _ in }
    ) -> SpeculationCheck {
        var check = SpeculationCheck(settings: settings)
        let decoder = SpeculativeDecoder(base: base, head: head, settings: settings)
        for (i, prompt) in prompts.enumerated() {
            let t0 = Date()
            let plain = base.generate(
                prompt: prompt, maxTokens: maxNewTokens, stopTokens: stopTokens, sampling: sampling)
            let t1 = Date()
            let spec = decoder.generate(
                prompt: prompt, maxNewTokens: maxNewTokens, stopTokens: stopTokens, sampling: sampling)
            let t2 = Date()
            let r = PromptResult(
                plain: plain, speculative: spec.tokens, acceptLengths: spec.acceptLengths,
                plainSeconds: t1.timeIntervalSince(t0), speculativeSeconds: t2.timeIntervalSince(t1))
            check.results.append(r)
            progress(i, r)
        }
        return check
    }
}
