import Conversion
import Checks
import Inference
import Platform
import StrictJSON
import Testing
import TestSupport
import WeightFormat

/// DeepSeek-V3 (MLA, sigmoid-routed MoE, YaRN) against transformers on the tiny FP8 fixture
/// (`refs/deepseek_v3.json`): last-position logits and greedy continuations, from the FP8
/// checkpoint converted to F32 (dequantized while converting) and kept as FP8 (dequantized when
/// the model opens).
@Suite struct DeepSeekReferenceTests {
    @Test(arguments: [ConversionType.f32, .fp8])
    func matchesTransformers(_ type: ConversionType) throws {
        let out = Fixtures.temporaryDirectory() + "/deepseek-\(type.rawValue).hkw"
        _ = try Converter.convert(source: Fixtures.path("deepseek_v3"), out: out, options: .init(type: type))
        let model = try DeepSeekModel(file: HKWFile(path: out), threads: 2)
        let refs = try #require(try Fixtures.json("refs/deepseek_v3.json")["prompts"]?.arrayValue)
        #expect(refs.count == 3)
        try TransformersReference.expectMatches(model, prompts: refs, label: type.rawValue, tolerance: 1.3e-5)
    }
}

/// DeepSeek's MTP layer as a draft: against transformers' MtpModel, then in the tree decoder.
@Suite struct MTPDraftTests {
    /// The fixture's base and its MTP layer converted to `type`, as `base.hkw` and `mtp.hkw` in a
    /// new folder (returned).
    static func convertFiles(_ type: ConversionType) throws -> String {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(
            source: Fixtures.path("deepseek_v3"), out: dir + "/base.hkw", options: .init(type: type))
        var options = Converter.Options(type: type)
        options.layers = [2]
        _ = try Converter.convert(source: Fixtures.path("deepseek_v3"), out: dir + "/mtp.hkw", options: options)
        return dir
    }

    static func convert(_ type: ConversionType) throws -> (DeepSeekModel, MTPDraft) {
        let dir = try convertFiles(type)
        let base = try DeepSeekModel(file: HKWFile(path: dir + "/base.hkw"), threads: 2)
        return (base, try MTPDraft(path: dir + "/mtp.hkw", base: base))
    }

    /// The layer's top-5 tokens and logits at every position equal transformers', given the
    /// base's post-norm features (refs made by transformers' MtpModel).
    @Test func matchesTransformers() throws {
        let (_, mtp) = try Self.convert(.fp8)
        let cases = try #require(try Fixtures.json("refs/deepseek_v3.json")["mtp"]?["cases"]?.arrayValue)
        #expect(!cases.isEmpty)
        for c in cases {
            let tokens = try c.ints("mtp_input_token_ids")
            let features = try c.floatRows("base_features_postnorm")
            let top5 = try c.intRows("mtp_top5_ids")
            let top5Logits = try c.floatRows("mtp_top5_logits")
            #expect(tokens.count == 8 && features.count == 8)
            let out = mtp.forward(features: features, tokens: tokens, cache: mtp.makeCache()).logits
            for t in tokens.indices {
                let ids = Array(out[t].indices.sorted { out[t][$0] > out[t][$1] }.prefix(5))
                #expect(ids == top5[t], "position \(t)")
                let worst = try maxAbsDifference(ids.map { out[t][$0] }, top5Logits[t])
                #expect(worst <= 1e-3, "position \(t): max |Δlogit| \(worst)")
            }
        }
    }

    /// With the MTP draft, speculative greedy output equals plain greedy output (chain and tree).
    @Test func speculativeOutputEqualsPlainGreedy() throws {
        let (base, mtp) = try Self.convert(.fp8)
        let prompts = try #require(try Fixtures.json("refs/deepseek_v3.json")["prompts"]?.arrayValue)
        for settings in [
            TreeSettings(topK: 1, depth: 3, totalTokens: 5), TreeSettings(topK: 3, depth: 2, totalTokens: 8),
        ] {
            for p in prompts.prefix(2) {
                let ids = try p.ints("input_ids")
                let plain = base.greedy(prompt: ids, maxTokens: 16).tokens
                let spec = SpeculativeDecoder(base: base, head: mtp, settings: settings).generate(
                    prompt: ids, maxNewTokens: 16)
                #expect(spec.tokens == plain, "\(settings)")
                #expect(spec.acceptLengths.count <= 16)
            }
        }
    }
}

extension MTPDraftTests {
    /// `--layers mtp --draft-of BASE.hkw`: the MTP layer's copies of the embedding and the output
    /// head equal the base's, so they are left out (the engine reads the base's), and the draft
    /// computes exactly what the full one does.
    @Test func anMTPDraftSharesTheBasesEmbeddingAndHead() throws {
        let dir = try Self.convertFiles(.fp8)
        var options = Converter.Options(type: .fp8)
        options.layers = [2]
        options.draftOf = dir + "/base.hkw"
        let report = try Converter.convert(
            source: Fixtures.path("deepseek_v3"), out: dir + "/shared.hkw", options: options)
        #expect(report.shared == ["blk.2.nextn.embed_tokens.weight", "blk.2.nextn.shared_head_head.weight"])
        let shared = try HKWFile(path: dir + "/shared.hkw"), full = try HKWFile(path: dir + "/mtp.hkw")
        #expect(shared.tensor(named: "blk.2.nextn.embed_tokens.weight") == nil)
        #expect(try FileSystem.size(of: dir + "/shared.hkw") < FileSystem.size(of: dir + "/mtp.hkw"))
        #expect(full.tensor(named: "blk.2.nextn.shared_head_head.weight") != nil)
        let base = try DeepSeekModel(file: HKWFile(path: dir + "/base.hkw"), threads: 2)
        let a = try MTPDraft(path: dir + "/mtp.hkw", base: base),
            b = try MTPDraft(path: dir + "/shared.hkw", base: base)
        let features = [[Float]](repeating: (0..<base.config.hidden).map { Float($0 % 7) * 0.1 }, count: 3)
        let la = a.forward(features: features, tokens: [5, 9, 11], cache: a.makeCache()).logits
        let lb = b.forward(features: features, tokens: [5, 9, 11], cache: b.makeCache()).logits
        #expect(la.map { $0.map(\.bitPattern) } == lb.map { $0.map(\.bitPattern) })
        // The tree decoder's catch-up runs the head on the last pair only, with the same result.
        let caught = a.extend(features: features, tokens: [5, 9, 11], cache: a.makeCache())
        #expect(caught.logits.map(\.bitPattern) == la.last?.map(\.bitPattern))
    }

    /// compat on a DeepSeek pair checks the MTP layer against the base; a HASS head for another
    /// architecture is refused.
    @Test func compatibilityOfMTPDrafts() throws {
        let dir = try Self.convertFiles(.fp8)
        _ = try Converter.convert(
            source: Fixtures.path("draft_llama3"), out: dir + "/head.hkw", options: .init(type: .f16))
        let fits = PairCompatibility(
            base: try HKWFile(path: dir + "/base.hkw"), draft: try HKWFile(path: dir + "/mtp.hkw"))
        #expect(fits.compatible, "\(fits.checks.filter { !$0.ok })")
        let wrong = PairCompatibility(
            base: try HKWFile(path: dir + "/base.hkw"), draft: try HKWFile(path: dir + "/head.hkw"))
        #expect(!wrong.compatible)
        #expect(wrong.checks.contains { $0.name == "draft architecture" && !$0.ok })
    }
}
