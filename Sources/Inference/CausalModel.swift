import Foundation
import Platform
import WeightFormat

/// A base model the engine decodes and the speculative decoder verifies with: LLaMA/Qwen2
/// (`LlamaModel`) or DeepSeek-V3 (`DeepSeekModel`).
public protocol CausalModel: AnyObject {
    /// Token ids the model takes and scores.
    var vocabularySize: Int { get }
    /// The positions the model was trained for, nil when its config does not say.
    var contextLength: Int? { get }
    func makeCache() -> KVCache
    /// Runs one token at the next slot of `cache`; returns its post-norm hidden state and logits.
    @discardableResult
    func step(token: Int, cache: KVCache, position: Int?, visible: [Int]?) -> (hidden: [Float], logits: [Float])
    /// Runs several tokens into the next slots of `cache` (a prompt, or a draft tree with its
    /// RoPE positions and per-token visible slots).
    func forward(
        tokens: [Int], cache: KVCache, positions: [Int]?, visible: [[Int]]?
    ) -> (hidden: [[Float]], logits: [[Float]])
    /// Runs a prompt into the next slots of `cache`: every position's hidden state and the logits
    /// after the last (where a model can, it applies its output head to the last position only).
    func prefill(tokens: [Int], cache: KVCache) -> (hidden: [[Float]], logits: [Float])
}

/// A draft for the tree decoder: pairs (feature fₜ, token xₜ₊₁) in, predicted features and
/// logits out. HASS's EAGLE-1 heads (`DraftHead`) and DeepSeek's MTP layer (`MTPDraft`).
public protocol FeatureDraft: AnyObject {
    func makeCache() -> KVCache
    func forward(
        features: [[Float]], tokens: [Int], cache: KVCache, positions: [Int]?, visible: [[Int]]?
    ) -> (features: [[Float]], logits: [[Float]])
    /// The logits of a feature the draft produced.
    func logits(of feature: [Float]) -> [Float]
    /// Adds the pairs to the next slots of `cache` (causal) and returns the last pair's predicted
    /// feature and its logits: the catch-up before each tree uses only the last prediction, so the
    /// output head (a tenth of a 1 B model, 129k rows on DeepSeek) runs once, not once per pair.
    /// Equal bit for bit to `forward(...).features.last` and `logits(of:)` of it.
    func extend(features: [[Float]], tokens: [Int], cache: KVCache) -> (feature: [Float], logits: [Float])
}

/// The first index of the largest value: the greedy choice, with the tie rule every decoder here
/// uses (and transformers' `argmax`).
public func argmax(_ v: [Float]) -> Int {
    var best = 0
    for i in v.indices where v[i] > v[best] { best = i }
    return best
}

extension CausalModel {
    /// Greedy continuation of `prompt` (stopping only at `stopTokens`), with the logits after
    /// the prompt and the top-2 margin at every generated position (the reference tests use both).
    public func greedy(
        prompt: [Int], maxTokens: Int, stopTokens: Set<Int> = []
    ) -> (tokens: [Int], lastLogits: [Float], margins: [Float]) {
        let cache = makeCache()
        var logits = prefill(tokens: prompt, cache: cache).logits
        let firstLogits = logits
        var out: [Int] = []
        var margins: [Float] = []
        for _ in 0..<maxTokens {
            let best = argmax(logits)
            var second = -Float.infinity
            for i in logits.indices where i != best { second = max(second, logits[i]) }
            out.append(best)
            margins.append(logits[best] - second)
            if out.count == maxTokens || stopTokens.contains(best) { break }
            logits = step(token: best, cache: cache, position: nil, visible: nil).logits
        }
        return (out, firstLogits, margins)
    }

    /// Plain decoding with `sampling` (greedy at temperature 0), ending after a stop token (which
    /// is included). `onToken` sees each token as it is chosen (streaming output).
    public func generate(
        prompt: [Int], maxTokens: Int, stopTokens: Set<Int> = [], sampling: Sampling,
        onToken: (Int) -> Void = { _ in }
    ) -> [Int] {
        var rng = SeededGenerator(seed: sampling.seed)
        let cache = makeCache()
        var logits = prefill(tokens: prompt, cache: cache).logits
        var out: [Int] = []
        while out.count < maxTokens {
            let token = sampling.isGreedy ? argmax(logits) : rng.pick(sampling.distribution(logits))
            out.append(token)
            onToken(token)
            if out.count == maxTokens || stopTokens.contains(token) { break }
            logits = step(token: token, cache: cache, position: nil, visible: nil).logits
        }
        return out
    }
}

/// Opens converted models by their `architecture`: LLaMA/Qwen2 bases with HASS heads, and
/// DeepSeek-V3 bases with their MTP layer.
public enum Models {
    public static func openBase(
        path: String, threads: Int, activations: Activations = .default
    ) throws -> any CausalModel {
        try openBase(file: try HKWFile(path: path), threads: threads, activations: activations)
    }

    /// The base model of an already opened file.
    public static func openBase(
        file: HKWFile, threads: Int, activations: Activations = .default
    ) throws -> any CausalModel {
        if file.architecture == .deepseekV3 {
            return try DeepSeekModel(file: file, threads: threads, activations: activations)
        }
        return try LlamaModel(file: file, threads: threads, activations: activations)
    }

    /// - Parameter draftVocabulary: FR-Spec's token subset for a HASS head (see `DraftHead`);
    ///   an MTP draft always drafts over the whole vocabulary.
    public static func openDraft(
        path: String, base: any CausalModel, draftVocabulary: [Int]? = nil
    ) throws
        -> any FeatureDraft
    {
        switch base {
        case let b as DeepSeekModel: return try MTPDraft(path: path, base: b)
        case let b as LlamaModel: return try DraftHead(path: path, base: b, draftVocabulary: draftVocabulary)
        default: throw InferenceError("no draft kind for this base", path: path, kind: .incompatible)
        }
    }
}
