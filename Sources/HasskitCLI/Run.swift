import ArgumentParser
import Foundation
import Inference
import StrictJSON

/// `hasskit run MODEL.hkw --prompt-ids 1,2,3`: greedy generation on the CPU engine.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate with a converted LLaMA/Qwen2 model on the CPU (greedy).",
        discussion: "Token ids in and out; text prompts arrive with the tokenizers."
    )

    @Argument(help: "A converted base model (.hkw).")
    var model: String

    @Option(help: "Prompt token ids, comma separated.")
    var promptIds: String

    @Option(help: "Tokens to generate.")
    var maxTokens = 32

    @Option(help: "Worker threads (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "A converted HASS draft head (.hkw) for speculative decoding.")
    var draft: String?

    @Option(help: "Draft tree: children per node.")
    var topK = 10

    @Option(help: "Draft tree: draft levels minus one (HASS's convention).")
    var depth = 5

    @Option(help: "Draft tree: nodes including the root.")
    var totalTokens = 60

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let ids = promptIds.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw ValidationError("--prompt-ids takes non-negative integers separated by commas")
        }
        let prompt = ids.compactMap { $0 }
        let m: LlamaModel
        do { m = try LlamaModel(path: model, threads: max(1, threads)) } catch { throw fail(error) }
        guard prompt.allSatisfy({ $0 < m.config.vocab }) else {
            throw ValidationError("a prompt id is outside the vocabulary of \(m.config.vocab)")
        }
        if let draft {
            try runSpeculative(m, prompt: prompt, draftPath: draft)
            return
        }
        let cache = m.makeCache()
        let t0 = Date()
        var logits = m.forward(tokens: prompt, cache: cache).logits.last ?? []
        let prefill = Date().timeIntervalSince(t0)
        var output: [Int] = []
        let t1 = Date()
        while output.count < maxTokens {
            var best = 0
            for i in logits.indices where logits[i] > logits[best] { best = i }
            output.append(best)
            if !json { Console.out(String(best)) }
            if output.count == maxTokens { break }
            logits = m.step(token: best, cache: cache).logits
        }
        let decode = Date().timeIntervalSince(t1)
        if json {
            Console.out(JSONValue.object([
                ("prompt_ids", .array(prompt.map { .int($0) })), ("output_ids", .array(output.map { .int($0) })),
                ("prefill_tokens_per_second", .double((Double(prompt.count) / max(prefill, 1e-9) * 10).rounded() / 10)),
                ("decode_tokens_per_second", .double((Double(output.count) / max(decode, 1e-9) * 10).rounded() / 10)),
            ]).serialized())
        }
    }
}

extension Run {
    func runSpeculative(_ m: LlamaModel, prompt: [Int], draftPath: String) throws {
        guard topK > 0, depth > 0, totalTokens > 1 else { throw ValidationError("--top-k, --depth and --total-tokens must be positive") }
        let head: DraftHead
        do { head = try DraftHead(path: draftPath, base: m) } catch { throw fail(error) }
        let decoder = SpeculativeDecoder(base: m, head: head, settings: TreeSettings(topK: topK, depth: depth, totalTokens: totalTokens))
        let t0 = Date()
        let r = decoder.generate(prompt: prompt, maxNewTokens: maxTokens)
        let seconds = Date().timeIntervalSince(t0)
        if json {
            Console.out(JSONValue.object([
                ("prompt_ids", .array(prompt.map { .int($0) })), ("output_ids", .array(r.tokens.map { .int($0) })),
                ("tokens_per_second", .double((Double(r.tokens.count) / max(seconds, 1e-9) * 10).rounded() / 10)),
                ("acceptance_length", .double((r.tau * 1000).rounded() / 1000)), ("base_forward_passes", .int(r.basePasses)),
            ]).serialized())
        } else {
            for t in r.tokens { Console.out(String(t)) }
            Console.log("τ \(String(format: "%.2f", r.tau)) over \(r.basePasses) base passes")
        }
    }
}
