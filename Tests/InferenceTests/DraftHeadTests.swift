import Conversion
@testable import Inference
import StrictJSON
import Testing
import TestSupport

/// HASS draft heads against HASS's own `cnets.py` (`refs/draft_<family>.json`): the base's
/// post-norm features, the head's predicted features and its top-5 tokens through the base head.
@Suite struct DraftHeadTests {

    @Test(arguments: [("draft_llama2", "llama2"), ("draft_llama3", "llama3"), ("draft_qwen2", "qwen2")])
    func matchesHASS(_ draft: String, _ baseName: String) throws {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(source: Fixtures.path(baseName), out: dir + "/base.hkw", options: .init(type: .f32))
        _ = try Converter.convert(source: Fixtures.path(draft), out: dir + "/head.hkw", options: .init(type: .f32))
        let base = try LlamaModel(path: dir + "/base.hkw", threads: 2)
        let head = try DraftHead(path: dir + "/head.hkw", base: base)
        let refs = try Fixtures.json("refs/\(draft).json")
        let cases = try #require(refs["cases"]?.arrayValue)
        #expect(!cases.isEmpty)
        for c in cases {
            let baseIDs = try c.ints("base_input_ids")
            let draftIDs = try c.ints("draft_input_token_ids")
            let features = try c.floatRows("base_features_postnorm")
            let expected = try c.floatRows("draft_features")
            let top5 = try c.intRows("draft_top5_ids")
            try #require(
                features.count >= baseIDs.count && expected.count >= draftIDs.count && top5.count >= draftIDs.count)
            // The base's post-norm features, position by position.
            let cache = base.makeCache()
            for (i, t) in baseIDs.enumerated() {
                let hidden = base.step(token: t, cache: cache).hidden
                let worst = try maxAbsDifference(hidden, features[i])
                #expect(worst <= 1e-3, "\(draft) base feature \(i): \(worst)")
            }
            // The head over the reference features.
            let headCache = head.makeCache()
            for (i, t) in draftIDs.enumerated() {
                let (out, logits) = head.step(feature: features[i], token: t, cache: headCache)
                let worst = try maxAbsDifference(out, expected[i])
                let scale = expected[i].map { abs($0) }.max() ?? 1
                #expect(worst <= 1e-3 * max(1, scale), "\(draft) draft feature \(i): \(worst)")
                let ours = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5)
                #expect(Array(ours) == top5[i], "\(draft) top-5 at \(i)")
            }
        }
    }

    /// The tree decoder's catch-up (`extend`) computes the output head for the last pair only,
    /// and gives exactly what `forward` gives for it: the same feature, the same logits as
    /// `logits(of:)`, the same cache. Q8_0 too, where a batch and a single input take different
    /// kernels.
    @Test(arguments: [ConversionType.f32, .q8_0])
    func catchUpIsTheLastPairOfForward(_ type: ConversionType) throws {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(source: Fixtures.path("llama3"), out: dir + "/base.hkw", options: .init(type: type))
        _ = try Converter.convert(
            source: Fixtures.path("draft_llama3"), out: dir + "/head.hkw", options: .init(type: type))
        let base = try LlamaModel(path: dir + "/base.hkw", threads: 2)
        let head = try DraftHead(path: dir + "/head.hkw", base: base)
        let tokens = [3, 17, 42, 7, 99]
        let features = base.forward(tokens: tokens, cache: base.makeCache()).hidden
        let next = Array(tokens.dropFirst()) + [11]
        let a = head.makeCache(), b = head.makeCache()
        let all = head.forward(features: features, tokens: next, cache: a)
        let last = head.extend(features: features, tokens: next, cache: b)
        let expected = try #require(all.features.last)
        let sameFeature = last.feature.map(\.bitPattern) == expected.map(\.bitPattern)
        let sameLogits = last.logits.map(\.bitPattern) == head.logits(of: expected).map(\.bitPattern)
        #expect(sameFeature, "\(type): the catch-up's feature differs from forward's last")
        #expect(sameLogits, "\(type): the catch-up's logits differ from logits(of:) of forward's last feature")
        #expect(last.logits.count == base.vocabularySize)
        #expect(a.count == b.count && a.keys == b.keys && a.values == b.values)
    }
}
