import Foundation
import Inference
import StrictJSON
import Platform
import Testing
import TestSupport
import WeightFormat

/// A draft that reproduces its base exactly is accepted to the full depth at every step.
///
/// The construction: a one-layer base whose attention and MLP write zeros, so its feature after
/// token x is rmsnorm(embed(x)) and it decodes as a bigram model; and a head with fc = [I | 0]
/// whose layer also writes zeros, so its output is embed(x). Both go through the same `lm_head`,
/// and rmsnorm only rescales by a positive factor, so the head's top-1 is always the base's next
/// token, at every draft level.
@Suite struct PerfectDraftTests {
    static let hidden = 16, vocab = 48, ffn = 8, heads = 2, headDim = 8

    static func config(layers: Int) -> JSONValue {
        .object([
            ("family", .string("llama")), ("hidden_size", .int(hidden)), ("intermediate_size", .int(ffn)),
            ("num_layers", .int(layers)), ("num_heads", .int(heads)), ("num_kv_heads", .int(heads)),
            ("head_dim", .int(headDim)), ("vocab_size", .int(vocab)), ("rms_norm_eps", .double(1e-6)),
            ("rope_theta", .int(10000)),
        ])
    }

    static func write(_ path: String, architecture: String, tensors: [(String, [Int], [Float])]) throws {
        let metadata = JSONValue.object([("architecture", .string(architecture)), ("config", config(layers: 1))])
        let w = try HKWWriter(
            path: path, metadata: metadata,
            entries: tensors.map { HKWWriter.Entry.tensor($0.0, type: .f32, shape: $0.1) })
        for (_, shape, values) in tensors {
            precondition(values.count == shape.reduce(1, *))
            try values.withUnsafeBytes { try w.append($0) }
            try w.finishEntry()
        }
        try w.commit()
    }

    /// The zero-writing decoder layer (plus `fc` for the head, or `attn_norm` for the base).
    static func layer(head: Bool) -> [(String, [Int], [Float])] {
        let h = hidden, q = heads * headDim
        var t: [(String, [Int], [Float])] = [
            ("blk.0.attn_q.weight", [q, h], .init(repeating: 0, count: q * h)),
            ("blk.0.attn_k.weight", [q, h], .init(repeating: 0, count: q * h)),
            ("blk.0.attn_v.weight", [q, h], .init(repeating: 0, count: q * h)),
            ("blk.0.attn_output.weight", [h, q], .init(repeating: 0, count: q * h)),
            ("blk.0.ffn_norm.weight", [h], .init(repeating: 1, count: h)),
            ("blk.0.ffn_gate.weight", [ffn, h], .init(repeating: 0, count: ffn * h)),
            ("blk.0.ffn_up.weight", [ffn, h], .init(repeating: 0, count: ffn * h)),
            ("blk.0.ffn_down.weight", [h, ffn], .init(repeating: 0, count: ffn * h)),
        ]
        if head {
            var fc = [Float](repeating: 0, count: h * 2 * h)
            for i in 0..<h { fc[i * 2 * h + i] = 1 }
            t.append(("fc.weight", [h, 2 * h], fc))
        } else {
            t.append(("blk.0.attn_norm.weight", [h], .init(repeating: 1, count: h)))
        }
        return t
    }

    @Test(arguments: [
        TreeSettings(topK: 1, depth: 4, totalTokens: 6), TreeSettings(topK: 3, depth: 3, totalTokens: 12), .published,
    ])
    func everyStepAcceptsTheFullDepth(_ settings: TreeSettings) throws {
        var g = Gaussian(seed: 42)
        let embedding = (0..<(Self.vocab * Self.hidden)).map { _ in g.next() }
        // Large logits: peaked distributions keep the top-1 chain inside the tree's node budget.
        let lmHead = (0..<(Self.vocab * Self.hidden)).map { _ in 8 * g.next() }
        let dir = Fixtures.temporaryDirectory()
        try Self.write(
            dir + "/base.hkw", architecture: "llama",
            tensors: [
                ("token_embd.weight", [Self.vocab, Self.hidden], embedding),
                ("output.weight", [Self.vocab, Self.hidden], lmHead),
                ("output_norm.weight", [Self.hidden], .init(repeating: 1, count: Self.hidden)),
            ] + Self.layer(head: false))
        try Self.write(dir + "/head.hkw", architecture: "eagle_head", tensors: Self.layer(head: true))
        let base = try LlamaModel(path: dir + "/base.hkw", threads: 1)
        let head = try DraftHead(path: dir + "/head.hkw", base: base)
        let prompt = [3, 17, 5]
        let r = SpeculativeDecoder(base: base, head: head, settings: settings).generate(
            prompt: prompt, maxNewTokens: 40)
        #expect(r.tokens == base.greedy(prompt: prompt, maxTokens: 40).tokens)
        // Levels: depth + 1, but never more than the nodes below the root.
        let full = min(settings.depth + 1, settings.totalTokens - 1)
        #expect(!r.acceptLengths.isEmpty && r.acceptLengths.allSatisfy { $0 == full }, "\(r.acceptLengths)")
    }
}

/// Box–Muller over SplitMix64, reproducible everywhere.
struct Gaussian {
    var u: SeededGenerator
    init(seed: UInt64) { u = SeededGenerator(seed: seed) }
    mutating func next() -> Float {
        let a = max(u.unit(), 1e-300), b = u.unit()
        return Float((-2 * log(a)).squareRoot() * cos(2 * Double.pi * b))
    }
}
