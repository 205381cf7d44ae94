import Conversion
@testable import Inference
import StrictJSON
import Testing
import TestSupport

/// The trained demo pair converted to F32 and opened, with the first reference prompt's ids.
enum DemoPair {
    static func load() throws -> (base: LlamaModel, head: DraftHead, firstPrompt: [Int]) {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(
            source: Fixtures.path("demo-pair/base"), out: dir + "/base.hkw", options: .init(type: .f32))
        _ = try Converter.convert(
            source: Fixtures.path("demo-pair/draft"), out: dir + "/head.hkw", options: .init(type: .f32))
        let base = try LlamaModel(path: dir + "/base.hkw", threads: 2)
        let head = try DraftHead(path: dir + "/head.hkw", base: base)
        let prompt = try #require(try Fixtures.json("demo-pair/refs.json")["prompts"]?.arrayValue?.first)
        return (base, head, try prompt.ints("ids"))
    }
}

/// The trained demo pair against HASS's own `eagenerate` (`demo-pair/refs.json`): the same
/// first tree, the same accepted lengths step by step, the same output as greedy decoding.
@Suite struct DemoPairTests {
    @Test func acceptanceMatchesHASS() throws {
        let (base, head, _) = try DemoPair.load()
        let refs = try Fixtures.json("demo-pair/refs.json")
        let prompts = try #require(refs["prompts"]?.arrayValue)
        let results = try #require(refs["results"]?.arrayValue)
        // Every prompt at 16/4/4; the first at HASS's 60/5/10 (slow in a debug build).
        for (label, settings, count) in [
            ("hass_16_4_4", TreeSettings(topK: 4, depth: 4, totalTokens: 16), prompts.count),
            ("hass_60_5_10", TreeSettings.published, 1),
        ] {
            var steps = 0, tokens = 0
            for (p, r) in zip(prompts, results).prefix(count) {
                let ids = try p.ints("ids")
                let ref = try #require(r[label])
                let expectedTokens = try ref.ints("output_ids")
                let expectedAccept = try ref.ints("accept_lengths")
                let got = SpeculativeDecoder(base: base, head: head, settings: settings).generate(
                    prompt: ids, maxNewTokens: expectedTokens.count)
                steps += got.acceptLengths.count
                tokens += got.acceptLengths.reduce(0, +) + got.acceptLengths.count
                #expect(got.tokens == expectedTokens, "\(label) \(p["id"]?.stringValue ?? "")")
                #expect(got.acceptLengths == expectedAccept, "\(label) \(p["id"]?.stringValue ?? "")")
                let firstTree = try #require(ref["first_tree"]).ints("tokens")
                #expect(got.firstTree?.tokens == firstTree)
            }
            if count == prompts.count {
                // Pooled τ (tokens / verification passes over all prompts) against HASS's.
                let recorded = try #require(refs["summary"]?["pooled_tau"]?[label]?.doubleValue)
                let tau = Double(tokens) / Double(steps)
                #expect(abs(tau - recorded) <= 0.05 * recorded, "\(label) τ \(tau) vs HASS \(recorded)")
            }
        }
    }

    /// A stop token ends both decoders at the same place, also when it falls inside a run of
    /// accepted draft tokens (the trained head accepts several per pass).
    @Test func stopTokensEndSpeculationWhereGreedyStops() throws {
        let (base, head, prompt) = try DemoPair.load()
        let full = base.greedy(prompt: prompt, maxTokens: 40).tokens
        let decoder = SpeculativeDecoder(
            base: base, head: head, settings: TreeSettings(topK: 4, depth: 4, totalTokens: 16))
        #expect(full.count == 40)
        for at in [0, 5, 17, 31] {
            let stop: Set<Int> = [full[at]]
            let expected = Array(full.prefix(through: full.firstIndex(of: full[at]) ?? at))
            #expect(base.greedy(prompt: prompt, maxTokens: 40, stopTokens: stop).tokens == expected)
            #expect(
                decoder.generate(prompt: prompt, maxNewTokens: 40, stopTokens: stop).tokens == expected, "stop at \(at)"
            )
        }
    }
}

/// KV rollback: after every step (rejected branches dropped, the accepted path compacted into
/// place) the base's cache holds what a fresh prefill of prompt + output would.
@Suite struct KVRollbackTests {
    @Test func cacheAfterEachStepEqualsAFreshPrefill() throws {
        let (base, head, prompt) = try DemoPair.load()
        let decoder = SpeculativeDecoder(
            base: base, head: head, settings: TreeSettings(topK: 4, depth: 4, totalTokens: 16))
        var steps = 0, worst: Float = 0
        _ = decoder.generate(prompt: prompt, maxNewTokens: 24, stopTokens: []) { cache, output in
            steps += 1
            let fresh = base.makeCache()
            _ = base.forward(tokens: prompt + output, cache: fresh)
            #expect(cache.count == fresh.count)
            for layer in cache.keys.indices {
                let n = fresh.count * fresh.width
                for i in 0..<n {
                    worst = max(
                        worst, abs(cache.keys[layer][i] - fresh.keys[layer][i]),
                        abs(cache.values[layer][i] - fresh.values[layer][i]))
                }
            }
        }
        #expect(steps > 2)
        #expect(worst < 1e-4, "largest K/V difference \(worst)")
    }
}

/// Speculative sampling end to end on the trained demo pair.
@Suite struct DemoPairSamplingTests {
    @Test func samplingRunsAndACrispTemperatureIsGreedy() throws {
        let (base, head, prompt) = try DemoPair.load()
        let decoder = SpeculativeDecoder(
            base: base, head: head, settings: TreeSettings(topK: 4, depth: 4, totalTokens: 16))
        // At T = 1e-6 every distribution is one-hot on the argmax: sampling is greedy decoding.
        let crisp = Sampling(temperature: 1e-6, seed: 3)
        let greedy = base.greedy(prompt: prompt, maxTokens: 24).tokens
        #expect(decoder.generate(prompt: prompt, maxNewTokens: 24, sampling: crisp).tokens == greedy)
        #expect(base.generate(prompt: prompt, maxTokens: 24, sampling: crisp) == greedy)
        // At T = 1: reproducible per seed, drafts still accepted.
        let a = decoder.generate(prompt: prompt, maxNewTokens: 24, sampling: Sampling(temperature: 1, seed: 11))
        let b = decoder.generate(prompt: prompt, maxNewTokens: 24, sampling: Sampling(temperature: 1, seed: 11))
        #expect(a.tokens == b.tokens && a.tokens.count == 24)
        #expect(a.tau > 1.5)
    }
}
