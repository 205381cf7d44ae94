@testable import Inference
import StrictJSON
import Platform
import Testing
import TestSupport

/// The decode step's attention kernel (ck_attention) against the plain Swift reference, for
/// causal and tree-masked slots and grouped key/value heads.
@Suite struct AttentionKernelTests {
    @Test(arguments: [(4, 4, 1), (8, 2, 7), (6, 3, 33), (8, 4, 100)])
    func kernelMatchesTheReference(_ heads: Int, _ kvHeads: Int, _ positions: Int) throws {
        let config = try ModelConfig(
            json: JSONValue.object([
                ("hidden_size", .int(heads * 16)), ("intermediate_size", .int(64)), ("num_layers", .int(1)),
                ("num_heads", .int(heads)),
                ("num_kv_heads", .int(kvHeads)), ("head_dim", .int(16)), ("vocab_size", .int(8)),
            ]), path: "test")
        let math = DecoderMath(config: config)
        var g = SeededGenerator(seed: 1592590338)
        let width = kvHeads * 16
        let q = (0..<(heads * 16)).map { _ in Float.random(in: -2...2, using: &g) }
        let keys = (0..<(positions * width)).map { _ in Float.random(in: -2...2, using: &g) }
        let values = (0..<(positions * width)).map { _ in Float.random(in: -1...1, using: &g) }
        let masks: [[Int]?] = [nil, Array(stride(from: 0, to: positions, by: 2)), [positions - 1]]
        for visible in masks {
            let fast = math.attention(q, keys: keys, values: values, positions: positions, visible: visible)
            let plain = math.attentionReference(q, keys: keys, values: values, positions: positions, visible: visible)
            #expect(fast.count == plain.count)
            for (a, b) in zip(fast, plain) {
                #expect(abs(a - b) <= 1e-5, "\(visible.map { "\($0)" } ?? "causal"): \(a) vs \(b)")
            }
        }
        // Split over threads by key/value heads (long contexts): the same bits as one thread.
        for visible in masks {
            let one = math.attention(q, keys: keys, values: values, positions: positions, visible: visible)
            let split = math.attention(
                q, keys: keys, values: values, positions: positions, visible: visible, threads: 3)
            #expect(split.map(\.bitPattern) == one.map(\.bitPattern))
        }
        // A batch of queries spread over threads: each gets exactly what it gets alone.
        let queries = 5
        let qs = (0..<(queries * heads * 16)).map { _ in Float.random(in: -2...2, using: &g) }
        let slots = (0..<queries).map { i in Array(0..<max(1, positions - i)) }
        let batch = math.attention(
            batch: qs, n: queries, keys: keys, values: values, visibility: .slots(slots), threads: 2)
        for i in 0..<queries {
            let alone = math.attention(
                Array(qs[(i * heads * 16)..<((i + 1) * heads * 16)]), keys: keys, values: values,
                positions: slots[i].count)
            #expect(
                Array(batch[(i * heads * 16)..<((i + 1) * heads * 16)]).map(\.bitPattern) == alone.map(\.bitPattern),
                "query \(i)")
        }
    }

    /// A causal run (a prompt: query i over slots 0 … start + i) goes through the tiled kernel;
    /// each of its queries must get the bits the tree kernel gives it over the same slots, whether
    /// the run is split by query tiles or by key/value heads, so that prefill, decoding and
    /// verified trees agree bit for bit. 70 queries after 90 cached positions cross the query
    /// tiles (16) and the key tiles (64).
    @Test(arguments: [(1, 1), (2, 70), (3, 5)])
    func causalRunsEqualTheTreeKernel(_ threads: Int, _ n: Int) throws {
        let heads = 6, kvHeads = 2, d = 16, start = 90
        let config = try ModelConfig(
            json: JSONValue.object([
                ("hidden_size", .int(heads * d)), ("intermediate_size", .int(64)), ("num_layers", .int(1)),
                ("num_heads", .int(heads)), ("num_kv_heads", .int(kvHeads)), ("head_dim", .int(d)),
                ("vocab_size", .int(8)),
            ]), path: "test")
        let math = DecoderMath(config: config)
        var g = SeededGenerator(seed: 77)
        let width = kvHeads * d, positions = start + n
        let keys = (0..<(positions * width)).map { _ in Float.random(in: -2...2, using: &g) }
        let values = (0..<(positions * width)).map { _ in Float.random(in: -1...1, using: &g) }
        let qs = (0..<(n * heads * d)).map { _ in Float.random(in: -2...2, using: &g) }
        let causal = math.attention(
            batch: qs, n: n, keys: keys, values: values, visibility: .causal(start: start), threads: threads)
        let tree = math.attention(
            batch: qs, n: n, keys: keys, values: values,
            visibility: .slots((0..<n).map { Array(0...(start + $0)) }), threads: threads)
        let same = causal.map(\.bitPattern) == tree.map(\.bitPattern)
        #expect(same, "the causal kernel's bits differ from the tree kernel's")
        var plain: [Float] = []
        for i in 0..<n {
            let q = Array(qs[(i * heads * d)..<((i + 1) * heads * d)])
            plain += math.attentionReference(q, keys: keys, values: values, positions: start + i + 1)
        }
        let close = zip(causal, plain).allSatisfy { abs($0 - $1) <= 1e-5 }
        #expect(close, "the causal kernel differs from the plain reference")
    }
}
