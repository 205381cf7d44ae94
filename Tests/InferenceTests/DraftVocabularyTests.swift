import Conversion
@testable import Inference
import Testing
import TestSupport

/// FR-Spec's draft vocabulary on the trained demo pair: the head drafts over a subset of the
/// output head's rows; verification scores every token, so the output never changes.
@Suite struct DraftVocabularyTests {
    static func heads(_ type: ConversionType) throws -> (LlamaModel, String) {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(
            source: Fixtures.path("demo-pair/base"), out: dir + "/base.hkw", options: .init(type: type))
        _ = try Converter.convert(
            source: Fixtures.path("demo-pair/draft"), out: dir + "/head.hkw", options: .init(type: type))
        return (try LlamaModel(path: dir + "/base.hkw", threads: 2), dir + "/head.hkw")
    }

    /// With every token kept the logits are the full head's, bit for bit (the rows gathered out of
    /// the interleaved Q8_0 groups and grouped again); with a subset, the kept tokens' logits are
    /// unchanged and the rest are −∞.
    @Test(arguments: [ConversionType.f32, .q8_0])
    func keptTokensKeepTheirLogits(_ type: ConversionType) throws {
        let (base, path) = try Self.heads(type)
        let vocab = base.config.vocab
        let full = try DraftHead(path: path, base: base)
        let all = try DraftHead(path: path, base: base, draftVocabulary: Array(0..<vocab))
        let some = Array(stride(from: 0, to: vocab, by: 3))
        let subset = try DraftHead(path: path, base: base, draftVocabulary: some)
        let feature = (0..<base.config.hidden).map { Float(($0 * 37) % 19) * 0.05 - 0.4 }
        let reference = full.logits(of: feature)
        #expect(all.logits(of: feature).map(\.bitPattern) == reference.map(\.bitPattern))
        let restricted = subset.logits(of: feature)
        let kept = Set(some)
        var added = 0
        for id in 0..<vocab where restricted[id] != -.infinity {
            #expect(restricted[id].bitPattern == reference[id].bitPattern, "token \(id)")
            if !kept.contains(id) { added += 1 }
        }
        // Every kept token is there; at most 7 more round the rows up to whole groups of 8.
        #expect(kept.allSatisfy { restricted[$0] != -.infinity } && added < 8, "\(added) added")
    }

    /// Speculative decoding with a draft vocabulary gives plain greedy decoding's tokens, even
    /// one that leaves out most of what the head would propose (τ falls, the output does not).
    @Test func outputStaysPlainGreedys() throws {
        let (base, path) = try Self.heads(.q8_0)
        let prompt = try #require(try Fixtures.json("demo-pair/refs.json")["prompts"]?.arrayValue?.first).ints("ids")
        let plain = base.greedy(prompt: prompt, maxTokens: 24).tokens
        let settings = TreeSettings(topK: 4, depth: 4, totalTokens: 16)
        var taus: [Double] = []
        for vocabulary in [nil, Array(0..<(base.config.vocab / 2)), Array(0..<64)] {
            let head = try DraftHead(path: path, base: base, draftVocabulary: vocabulary)
            let got = SpeculativeDecoder(base: base, head: head, settings: settings).generate(
                prompt: prompt, maxNewTokens: 24)
            #expect(got.tokens == plain, "vocabulary of \(vocabulary?.count ?? base.config.vocab)")
            taus.append(Double(got.tokens.count) / Double(got.acceptLengths.count))
        }
        #expect(taus[2] < taus[0], "64 tokens should cost acceptance: τ \(taus)")
    }
}
