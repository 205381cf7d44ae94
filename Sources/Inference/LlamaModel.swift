// Port of transformers src/transformers/models/llama/modeling_llama.py (LlamaForCausalLM, eager
// attention) and models/qwen2/modeling_qwen2.py (Qwen2ForCausalLM); compared in InferenceTests.

import Foundation
import WeightFormat

/// LLaMA-2/3 and Qwen2 decoder (RMSNorm, rotate-half RoPE, GQA attention, SwiGLU MLP; Qwen2's
/// q/k/v biases and tied embeddings), computed in f32 over weights used in place from a `.hkw`.
///
/// Follows transformers' `LlamaForCausalLM` / `Qwen2ForCausalLM` (eager attention), the
/// reference the fixtures' logits were made with.
public final class LlamaModel: CausalModel {
    public let config: ModelConfig
    public let path: String
    /// Worker threads for matrix-vector products.
    public var threads: Int

    let embedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: [Float]
    let layers: [DecoderBlock]
    let math: DecoderMath
    private let file: HKWFile

    /// What the quantized products multiply (the head opened on this base follows it).
    public let activations: Activations

    /// Opens a converted base model (`architecture` llama or qwen2).
    public convenience init(
        path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        activations: Activations = .default
    ) throws {
        try self.init(file: try HKWFile(path: path), threads: threads, activations: activations)
    }

    /// Opens a converted base model from its already opened file.
    public init(file f: HKWFile, threads: Int, activations: Activations = .default) throws {
        file = f
        let path = f.path
        self.path = path
        self.threads = threads
        self.activations = activations
        guard f.architecture?.isLlamaLike == true else {
            throw InferenceError(
                "architecture \(f.metadata["architecture"]?.stringValue ?? "(none)") is not a LLaMA/Qwen2 base model",
                path: path)
        }
        guard let c = f.metadata["config"] else { throw InferenceError("no config in the header", path: path) }
        config = try ModelConfig(json: c, path: path)
        let w = WeightSource(file: f, activations: activations)
        embedding = try w.matrix("token_embd.weight")
        output = w.has("output.weight") ? try w.matrix("output.weight") : embedding
        outputNorm = try w.vector("output_norm.weight")
        layers = try (0..<config.layers).map { try w.decoderBlock($0) }
        math = DecoderMath(config: config)
        guard embedding.cols == config.hidden, output.rows == config.vocab || output.rows >= config.vocab else {
            throw InferenceError("embedding/output shapes do not match the config", path: path)
        }
        let check = ShapeCheck(path: path)
        let h = config.hidden
        // Padded vocabularies (more rows than vocab_size) are fine; fewer rows are not.
        try check.matrix("token_embd.weight", embedding, rows: max(embedding.rows, config.vocab), cols: h)
        try check.matrix("output.weight", output, rows: max(output.rows, config.vocab), cols: h)
        try check.vector("output_norm.weight", outputNorm, count: h)
        for (i, l) in layers.enumerated() { try l.checkShapes(prefix: "blk.\(i).", config: config, check: check) }
    }

    public var vocabularySize: Int { config.vocab }

    /// The matrices a decoding step reads in full: every layer's projections and the output head
    /// (of the embedding only one row).
    public var decodeMatrices: [WeightMatrix] {
        layers.flatMap { [$0.q, $0.k, $0.v, $0.o, $0.gate, $0.up, $0.down] } + [output]
    }

    /// The token embedding (the output head too when they are tied).
    public var embeddingMatrix: WeightMatrix { embedding }
    public var contextLength: Int? { config.contextLength }

    public func makeCache() -> KVCache { KVCache(layers: config.layers, width: config.kvHeads * config.headDim) }

    /// Runs one token; its keys and values go to the next slot of `cache`. Returns the post-norm
    /// hidden state and the logits.
    /// - Parameters:
    ///   - position: the RoPE position (default: the slot), which differs inside a draft tree.
    ///   - visible: the cache slots the token attends to, this one included (default: all, causal).
    @discardableResult
    public func step(
        token: Int, cache: KVCache, position: Int? = nil, visible: [Int]? = nil
    ) -> (hidden: [Float], logits: [Float]) {
        precondition(token >= 0 && token < embedding.rows, "token \(token) outside the vocabulary")
        let c = config
        let slot = cache.count
        let position = position ?? slot
        var x = embedding.row(token)
        for (l, layer) in layers.enumerated() {
            layer(
                &x, n: 1, positions: [position], visibility: visible.map { .slots([$0]) } ?? .causal(start: slot),
                cache: cache, layer: l,
                math: math,
                threads: threads, products: .single)
        }
        cache.count += 1
        let hidden = math.rmsNorm(x, outputNorm)
        var logits = output.apply(hidden, threads: threads)
        if logits.count > c.vocab { logits.removeLast(logits.count - c.vocab) }
        return (hidden, logits)
    }

    /// Runs several tokens in one pass: every weight matrix is read once for the whole batch
    /// (`cblas_sgemm`), which is what makes verifying a draft tree cheap. Their keys and values go
    /// to the next slots of `cache`, in order.
    /// - Parameters:
    ///   - positions: RoPE positions (default: their slots).
    ///   - visible: per token, the cache slots it attends to, itself included (default: causal).
    public func forward(
        tokens: [Int], cache: KVCache, positions: [Int]? = nil, visible: [[Int]]? = nil
    ) -> (hidden: [[Float]], logits: [[Float]]) {
        run(tokens: tokens, cache: cache, positions: positions, visible: visible, lastLogitsOnly: false)
    }

    /// A prompt: every position's hidden state, the logits of the last only (the output head is
    /// applied once, not once per prompt token, as llama.cpp's prompt processing does).
    public func prefill(tokens: [Int], cache: KVCache) -> (hidden: [[Float]], logits: [Float]) {
        let r = run(tokens: tokens, cache: cache, positions: nil, visible: nil, lastLogitsOnly: true)
        return (r.hidden, r.logits.last ?? [])
    }

    func run(
        tokens: [Int], cache: KVCache, positions: [Int]?, visible: [[Int]]?, lastLogitsOnly: Bool
    ) -> (hidden: [[Float]], logits: [[Float]]) {
        let c = config, n = tokens.count, h = c.hidden
        guard n > 0 else { return ([], []) }
        let slot0 = cache.count
        let pos = positions ?? Array(slot0..<(slot0 + n))
        let vis = visible.map(Visibility.slots) ?? .causal(start: slot0)
        var x: [Float] = []
        x.reserveCapacity(n * h)
        for t in tokens {
            precondition(t >= 0 && t < embedding.rows, "token \(t) outside the vocabulary")
            x += embedding.row(t)
        }
        for (l, layer) in layers.enumerated() {
            layer(
                &x, n: n, positions: pos, visibility: vis, cache: cache, layer: l, math: math, threads: threads,
                products: .batch)
        }
        cache.count += n
        let hidden = math.rmsNormRows(x, outputNorm, n: n)
        let first = lastLogitsOnly ? n - 1 : 0
        let logits = output.applyBatch(Array(hidden[(first * h)...]), n: n - first, threads: threads)
        let rows = output.rows
        return (
            (0..<n).map { Array(hidden[($0 * h)..<(($0 + 1) * h)]) },
            (0..<(n - first)).map { Array(logits[($0 * rows)..<($0 * rows + min(rows, c.vocab))]) }
        )
    }

}
