import ArgumentParser
import Foundation
import Checks
import Inference
import StrictJSON
import Tokenizers
import WeightFormat

/// `hasskit run MODEL.hkw --prompt-ids 1,2,3`: greedy generation on the CPU engine.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate with a converted LLaMA/Qwen2 model on the CPU (greedy, or sampled with --temperature).",
        discussion:
            "Generation stops at the model's end-of-sequence tokens (config.json and generation_config.json) unless --ignore-eos."
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A converted base model (.hkw).")
    var model: String

    @Option(help: "Prompt token ids, comma separated.")
    var promptIds: String?

    // `.unconditional`: the prompt is any text, "-12.5e-3 and 6.022e23" or "--help" included.
    @Option(
        parsing: .unconditional,
        help:
            "Prompt text, encoded with the tokenizer stored in the model (BOS added as the model's post-processor says)."
    )
    var prompt: String?

    @Option(help: "Tokens to generate.")
    var maxTokens = 32

    @OptionGroup(title: "Engine") var engine: EngineOptions

    @Option(help: "A converted HASS draft head (.hkw) for speculative decoding.")
    var draft: String?

    @Option(help: "Draft tree: children per node.")
    var topK = 10

    @Option(help: "Draft tree: draft levels minus one (HASS's convention).")
    var depth = 5

    @Option(help: "Draft tree: nodes including the root.")
    var totalTokens = 60

    @Option(help: "Sampling temperature; 0 is greedy. Speculative sampling keeps the base's distribution exactly.")
    var temperature = 0.0

    @Option(
        help:
            "Nucleus sampling: sample among the most likely tokens holding this much probability (with --temperature).")
    var topP = 1.0

    @Option(help: "Seed for sampling (the same seed repeats a run).")
    var seed: UInt64 = 0

    @Flag(help: "Wrap the prompt as one user turn, rendered with the model's own chat template.")
    var chat = false

    @Option(help: "Chat format for a model that carries no chat template: llama2, llama3 or chatml.")
    var template: ChatFormat?

    @Flag(help: "Keep generating past the end-of-sequence tokens named in the model's config.")
    var ignoreEos = false

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func validate() throws {
        guard (promptIds == nil) != (prompt == nil) else {
            throw ValidationError("give exactly one of --prompt and --prompt-ids")
        }
        guard temperature >= 0, temperature.isFinite else {
            throw ValidationError("--temperature must be 0 or positive")
        }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard prompt != nil || (!chat && template == nil) else {
            throw ValidationError("--chat and --template format text, so they need --prompt")
        }
    }

    func run() throws {
        // Ids in, ids out works whatever the tokenizer: the engine can always be checked.
        let extras = try ModelExtras(path: model, requireTokenizer: prompt != nil)
        if let problem = extras.tokenizerProblem {
            Console.log("hasskit: warning: \(problem.description); the output is token ids only")
        }
        var tokenizer: Tokenizer?
        let prompt: [Int]
        if let text = self.prompt {
            guard extras.tokenizer != nil else {
                throw ValidationError(
                    "\(model) carries no tokenizer.json (convert the model from a folder that has one), so use --prompt-ids"
                )
            }
            tokenizer = extras.tokenizer
            var template: ChatTemplate?
            if chat || self.template != nil {
                let (t, warning) = try extras.chatTemplate(named: self.template, path: model)
                if let warning { Console.log("hasskit: warning: \(warning)") }
                template = t
            }
            prompt = try extras.encode(.text(text), chat: template, path: model)
        } else {
            let ids = (promptIds ?? "").split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !ids.isEmpty, ids.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw ValidationError("--prompt-ids takes non-negative integers separated by commas")
            }
            prompt = ids.compactMap { $0 }
        }
        let stops: Set<Int> = ignoreEos ? [] : extras.stopTokens
        let m: any CausalModel
        m = try Models.openBase(
            path: model, threads: engine.effectiveThreads, activations: engine.activations)
        guard prompt.allSatisfy({ $0 < m.vocabularySize }) else {
            throw ValidationError("a prompt id is outside the vocabulary of \(m.vocabularySize)")
        }
        if let draft {
            try runSpeculative(m, prompt: prompt, draftPath: draft, tokenizer: tokenizer, stops: stops)
            return
        }
        var stream = TextStream(tokenizer: tokenizer)
        let t0 = Date()
        var firstToken: Date?
        let sampling = Sampling(temperature: temperature, topP: topP, seed: seed)
        let output = m.generate(prompt: prompt, maxTokens: maxTokens, stopTokens: stops, sampling: sampling) { token in
            if firstToken == nil { firstToken = Date() }
            if !json && !stops.contains(token) { stream.emit(token) }
        }
        // The first token comes right after the prefill pass (its argmax is negligible).
        let t1 = firstToken ?? Date()
        let prefill = t1.timeIntervalSince(t0)
        let decode = Date().timeIntervalSince(t1)
        if !json { stream.finish() }
        if json {
            Console.out(
                JSONValue.object([
                    ("prompt_ids", .array(prompt.map { .int($0) })), ("output_ids", .array(output.map { .int($0) })),
                    ("text", tokenizer.map { .string($0.decode(output)) } ?? .null),
                    (
                        "prefill_tokens_per_second",
                        .double((Double(prompt.count) / max(prefill, 1e-9) * 10).rounded() / 10)
                    ),
                    (
                        "decode_tokens_per_second",
                        .double((Double(output.count) / max(decode, 1e-9) * 10).rounded() / 10)
                    ),
                ]).serialized())
        }
    }
}

extension Run {
    func runSpeculative(
        _ m: any CausalModel, prompt: [Int], draftPath: String, tokenizer: Tokenizer?, stops: Set<Int>
    ) throws {
        guard topK > 0, depth > 0, totalTokens > 1 else {
            throw ValidationError("--top-k, --depth and --total-tokens must be positive")
        }
        let head: any FeatureDraft
        head = try Models.openDraft(path: draftPath, base: m)
        let decoder = SpeculativeDecoder(
            base: m, head: head, settings: TreeSettings(topK: topK, depth: depth, totalTokens: totalTokens))
        let t0 = Date()
        let r = decoder.generate(
            prompt: prompt, maxNewTokens: maxTokens, stopTokens: stops,
            sampling: Sampling(temperature: temperature, topP: topP, seed: seed))
        let seconds = Date().timeIntervalSince(t0)
        if json {
            Console.out(
                JSONValue.object([
                    ("prompt_ids", .array(prompt.map { .int($0) })), ("output_ids", .array(r.tokens.map { .int($0) })),
                    ("text", tokenizer.map { .string($0.decode(r.tokens)) } ?? .null),
                    ("tokens_per_second", .double((Double(r.tokens.count) / max(seconds, 1e-9) * 10).rounded() / 10)),
                    ("acceptance_length", .double((r.tau * 1000).rounded() / 1000)),
                    ("base_forward_passes", .int(r.basePasses)),
                ]).serialized())
        } else {
            var stream = TextStream(tokenizer: tokenizer)
            for t in r.tokens where !stops.contains(t) { stream.emit(t) }
            stream.finish()
            Console.log("τ \(String(format: "%.2f", r.tau)) over \(r.basePasses) base passes")
        }
    }
}

/// Prints generated tokens as they come: text when a tokenizer is known (each piece once it is
/// complete, as the tokenizers library's `DecodeStream` gives it), otherwise one id per line.
struct TextStream {
    var decoder: DecodeStream?

    init(tokenizer: Tokenizer?) {
        decoder = tokenizer.map { DecodeStream(tokenizer: $0) }
    }

    mutating func emit(_ id: Int) {
        guard decoder != nil else {
            Console.out(String(id))
            return
        }
        if let text = decoder!.step(id) { FileHandle.standardOutput.write(Data(text.utf8)) }
    }

    mutating func finish() {
        guard decoder != nil else { return }
        FileHandle.standardOutput.write(Data((decoder!.finish() + "\n").utf8))
    }
}

extension ChatFormat: ExpressibleByArgument {}
