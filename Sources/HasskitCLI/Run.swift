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

    @Flag(help: "Decode past the positions the model was trained for (refused by default).")
    var pastContext = false

    @OptionGroup(title: "Draft vocabulary (with --draft)") var vocabulary: DraftVocabularyOptions

    @Flag(
        help: "Run even when the model needs more memory than this machine has available (refused by default, exit 79)."
    )
    var force = false

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
        let file = try HKWFile(path: model)
        let extras = try ModelExtras(file: file, requireTokenizer: prompt != nil)
        if let problem = extras.tokenizerProblem {
            Console.log("hasskit: warning: \(problem.description); the output is token ids only")
        }
        let ids: [Int]
        if let text = prompt {
            var template: ChatTemplate?
            if chat || self.template != nil {
                let (t, warning) = try extras.chatTemplate(named: self.template, path: model)
                if let warning { Console.log("hasskit: warning: \(warning)") }
                template = t
            }
            ids = try extras.encode(.text(text), chat: template, path: model)
        } else {
            let parsed = (promptIds ?? "").split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw ValidationError("--prompt-ids takes non-negative integers separated by commas")
            }
            ids = parsed.compactMap { $0 }
        }
        let tokenizer = prompt != nil ? extras.tokenizer : nil
        var settings = Generation.Settings(
            maxTokens: maxTokens, sampling: Sampling(temperature: temperature, topP: topP, seed: seed),
            stopTokens: ignoreEos ? [] : extras.stopTokens)
        settings.pastContext = pastContext
        try MemoryEstimate.Request(
            promptTokens: [ids.count], maxTokens: maxTokens, treeNodes: draft == nil ? 0 : totalTokens, force: force
        ).require(base: file, draft: try draft.map { try HKWFile(path: $0) })
        let generation = Generation(
            model: try Models.openBase(file: file, threads: engine.effectiveThreads, activations: engine.activations),
            path: model)
        let stops = settings.stopTokens
        let result: Generation.Result
        var stream = TextStream(tokenizer: tokenizer)
        if let draft {
            guard topK > 0, depth > 0, totalTokens > 1 else {
                throw ValidationError("--top-k, --depth and --total-tokens must be positive")
            }
            result = try generation.speculative(
                prompt: ids,
                draft: try Models.openDraft(
                    path: draft, base: generation.model,
                    draftVocabulary: try vocabulary.request.map {
                        try DraftVocabulary.ids(size: $0.size, textFile: $0.textFile, extras: extras, path: model)
                    }),
                tree: TreeSettings(topK: topK, depth: depth, totalTokens: totalTokens), settings: settings)
            if !json {
                for t in result.output where !stops.contains(t) { stream.emit(t) }
            }
        } else {
            result = try generation.plain(prompt: ids, settings: settings) { token in
                if !json && !stops.contains(token) { stream.emit(token) }
            }
        }
        if json {
            Console.out(result.json(tokenizer: tokenizer).serialized())
        } else {
            stream.finish()
            if let tau = result.tau, let passes = result.basePasses {
                Console.log("τ \(String(format: "%.2f", tau)) over \(passes) base passes")
            }
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
