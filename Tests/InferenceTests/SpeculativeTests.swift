import Conversion
@testable import Inference
import StrictJSON
import Platform
import Testing
import TestSupport

/// EAGLE-2 tree speculation: the first tree equals the one HASS's `topK_genrate` builds
/// (`refs/draft_<family>.json`), and the output equals plain greedy decoding.
@Suite struct SpeculativeTests {
    static func load(_ draft: String, _ baseName: String) throws -> (LlamaModel, DraftHead) {
        let dir = Fixtures.temporaryDirectory()
        _ = try Converter.convert(source: Fixtures.path(baseName), out: dir + "/base.hkw", options: .init(type: .f32))
        _ = try Converter.convert(source: Fixtures.path(draft), out: dir + "/head.hkw", options: .init(type: .f32))
        let base = try LlamaModel(path: dir + "/base.hkw", threads: 2)
        return (base, try DraftHead(path: dir + "/head.hkw", base: base))
    }

    static let pairs = [("draft_llama2", "llama2"), ("draft_llama3", "llama3"), ("draft_qwen2", "qwen2")]

    @Test(arguments: pairs)
    func firstTreeMatchesHASS(_ draft: String, _ baseName: String) throws {
        let (base, head) = try Self.load(draft, baseName)
        let trees = try #require(try Fixtures.json("refs/\(draft).json")["eagle2_trees"]?.arrayValue)
        for t in trees {
            let p = try #require(t["params"])
            let settings = TreeSettings(
                topK: try #require(p["top_k"]?.intValue), depth: try #require(p["depth"]?.intValue),
                totalTokens: try #require(p["total_token"]?.intValue))
            // The recorded input_ids end with the root token the base chose after the prompt.
            let ids = Array(try t.ints("input_ids").dropLast())
            let decoder = SpeculativeDecoder(base: base, head: head, settings: settings)
            let tree = try #require(decoder.generate(prompt: ids, maxNewTokens: 1).firstTree)
            let label = t["label"]?.stringValue ?? ""
            #expect(tree.tokens == (try t.ints("draft_tokens")), "\(draft) \(label) tokens")
            #expect(tree.parents == (try t.ints("parent_node")), "\(draft) \(label) parents")
            #expect(tree.depths == (try t.ints("tree_position_ids")), "\(draft) \(label) depths")
            let retrieve = try t.intRows("retrieve_indices").map { $0.filter { $0 >= 0 } }
            #expect(tree.paths == retrieve, "\(draft) \(label) paths")
        }
    }

    @Test(arguments: pairs)
    func outputEqualsPlainGreedy(_ draft: String, _ baseName: String) throws {
        let (base, head) = try Self.load(draft, baseName)
        let refs = try #require(try Fixtures.json("refs/\(baseName).json")["prompts"]?.arrayValue)
        for settings in [
            TreeSettings(topK: 4, depth: 3, totalTokens: 16), TreeSettings(topK: 2, depth: 1, totalTokens: 3),
            .published,
        ] {
            for p in refs {
                let ids = try p.ints("input_ids")
                let plain = base.greedy(prompt: ids, maxTokens: 20).tokens
                let spec = SpeculativeDecoder(base: base, head: head, settings: settings).generate(
                    prompt: ids, maxNewTokens: 20)
                #expect(spec.tokens == plain, "\(draft) \(settings)")
                #expect(spec.tau >= 1)
            }
        }
    }
}

extension SpeculativeTests {
    /// The one-pass top-k equals a full sort (largest first, ties to the lower index).
    @Test func topKEqualsAFullSort() {
        var g = SeededGenerator(seed: 1592590337)
        for trial in 0..<200 {
            let n = Int.random(in: 1...300, using: &g), k = Int.random(in: 1...12, using: &g)
            // Few distinct values, so ties are common.
            let v = (0..<n).map { _ in Float(Int.random(in: 0...(trial % 2 == 0 ? 5 : 1000), using: &g)) }
            let sorted = Array(v.indices.sorted { v[$0] > v[$1] || (v[$0] == v[$1] && $0 < $1) }.prefix(k))
            #expect(SpeculativeDecoder.topK(v, k) == sorted, "n \(n) k \(k)")
        }
    }
}
