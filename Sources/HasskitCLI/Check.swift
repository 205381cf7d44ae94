import ArgumentParser
import Foundation
import Hub
import Inference
import Platform
import Registry
import StrictJSON
import Tokenizers

/// `hasskit check --base B.hkw --draft D.hkw`: the speculative-decoding smoke test. Each prompt is
/// decoded plainly and through the draft tree; the outputs must be identical token for token.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove a base + draft pair decodes losslessly: speculative output vs plain greedy, with τ and speed-up.",
        discussion: """
            Runs a bundled prompt set (chat, code and math; or --prompts FILE, one prompt per line) at \
            temperature 0, plain and speculative, and compares the outputs token for token. τ is HASS's \
            acceptance length: tokens committed per base verification pass, the bonus token included. \
            The accept rate at depth d is the share of steps that accepted the d-th drafted token among \
            those that accepted the first d−1. Speeds are wall-clock over all prompts, measured in this \
            run. Exits 1 when any output differs.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A pulled and converted pair (`hasskit convert PAIR`); or give --base and --draft.")
    var pair: String?

    @Option(help: "A converted base model (.hkw).")
    var base: String?

    @Option(help: "A converted HASS draft head for that base (.hkw).")
    var draft: String?

    @Option(help: "For a pair converted to several types: which one (e.g. q8_0).")
    var type: String?

    @Option(help: "Sampling temperature; above 0 the outputs are not compared (they are samples), only τ and speed reported.")
    var temperature = 0.0

    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 0

    @Option(help: "A text file with one prompt per line (instead of the bundled set).")
    var prompts: String?

    @Flag(help: "Wrap each prompt as a user turn in the base's chat format.")
    var chat = false

    @Option(help: "Tokens to generate per prompt.")
    var maxTokens = 64

    @OptionGroup(title: "Draft tree (default: the pair's CPU tree, else HASS's 60/5/10)") var tree: TreeOptions

    @Option(help: "Worker threads (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func validate() throws {
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        guard (pair == nil) == (base != nil && draft != nil), base == nil || draft != nil, draft == nil || base != nil else {
            throw ValidationError("give a pair, or both --base and --draft")
        }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be 0 or positive") }
    }

    /// The two files and the tree: from the options, or from a converted pair in the store.
    func resolve() throws -> (base: String, draft: String, tree: TreeSettings) {
        var tree = TreeSettings.published
        var files = (base ?? "", draft ?? "")
        if let pair {
            guard let manifest = try loadRegistry().manifest(named: pair) else {
                throw ValidationError("no pair named \(pair) (see hasskit list)")
            }
            tree = manifest.cpuTree
            let folder = PairOperations(client: HubClient(environment: HubEnvironment.fromProcess())).store.folder(manifest.id)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            let types = names.filter { $0.hasPrefix("draft-") && $0.hasSuffix(".hkw") }.map { String($0.dropFirst(6).dropLast(4)) }
                .filter { names.contains("base-\($0).hkw") }.sorted()
            guard !types.isEmpty else {
                throw ValidationError("\(manifest.id) is not converted yet: run hasskit pull \(manifest.id) and hasskit convert \(manifest.id)")
            }
            let chosen = type ?? (types.count == 1 ? types[0] : "")
            guard types.contains(chosen) else {
                throw ValidationError("\(manifest.id) is converted as \(types.joined(separator: ", ")); choose one with --type")
            }
            files = (folder + "/base-\(chosen).hkw", folder + "/draft-\(chosen).hkw")
        }
        return (files.0, files.1, self.tree.apply(to: tree))
    }

    func run() throws {
        Kernels.configureFromEnvironment()
        let (base, draft, settings) = try resolve()
        let sampling = Sampling(temperature: temperature, seed: seed)
        // The pair first: a head made for another base is the likeliest mistake.
        let model: any CausalModel, head: any FeatureDraft
        model = try Models.openBase(path: base, threads: max(1, threads))
        head = try Models.openDraft(path: draft, base: model)
        let extras: ModelExtras
        extras = try ModelExtras(path: base)
        guard let tokenizer = extras.tokenizer else {
            throw ValidationError("\(base) carries no tokenizer.json (convert the base from a folder that has one)")
        }
        let texts = try PromptSet.texts(file: prompts)
        var template: ChatTemplate?
        if chat {
            template = extras.chatTemplate
            guard template != nil else { throw ValidationError("\(base) carries no chat_template hasskit recognises") }
        }
        let ids = texts.map { text in
            template.map { tokenizer.encode($0.render([.init(role: "user", content: text)])) } ?? tokenizer.encode(text, addSpecialTokens: true)
        }
        let check = SpeculationCheck.run(base: model, head: head, settings: settings, prompts: ids, maxNewTokens: maxTokens,
                                         stopTokens: extras.stopTokens, sampling: sampling) { i, r in
            guard !json else { return }
            let mark = !sampling.isGreedy ? "sampled" : r.firstDifference.map { "DIFFERS at token \($0)" } ?? "identical"
            let tau = Double(r.acceptLengths.reduce(0, +) + r.acceptLengths.count) / Double(max(1, r.acceptLengths.count))
            Console.log("prompt \(i + 1)/\(ids.count): \(r.plain.count) tokens, τ \(String(format: "%.2f", tau)), \(mark)")
        }
        if json {
            Console.out(check.json(sampling: sampling, maxTokens: maxTokens).serialized())
        } else {
            let same = check.results.filter { $0.firstDifference == nil }.count
            if sampling.isGreedy {
                Console.out("identical    \(check.identical ? "yes" : "NO") (\(same)/\(ids.count) prompts)")
            } else {
                Console.out("sampled      T = \(temperature), seed \(seed): outputs are samples, not compared")
            }
            Console.out("τ            \(String(format: "%.2f", check.tau)) tokens per base pass (tree \(settings.totalTokens)/\(settings.depth)/\(settings.topK))")
            Console.out("accept rate  " + check.acceptRateByDepth.enumerated().map { "d\($0 + 1) " + ($1.map { String(format: "%.2f", $0) } ?? "–") }.joined(separator: "  "))
            Console.out("plain        \(String(format: "%.1f", check.plainTokensPerSecond)) tok/s")
            Console.out("speculative  \(String(format: "%.1f", check.speculativeTokensPerSecond)) tok/s (\(String(format: "%.2f", check.speedup))×)")
        }
        if sampling.isGreedy && !check.identical { throw ExitCode(1) }
    }

    static func rounded(_ x: Double, _ digits: Int) -> Double {
        let p = pow(10, Double(digits))
        return (x * p).rounded() / p
    }
}

extension SpeculationCheck {
    /// The `check --json` document (also part of `demo --json`).
    func json(sampling: Sampling, maxTokens: Int) -> JSONValue {
        .object([
            ("identical", sampling.isGreedy ? .bool(identical) : .null), ("prompts", .int(results.count)),
            ("acceptance_length", .double(Check.rounded(tau, 3))),
            ("accept_rate_by_depth", .array(acceptRateByDepth.map { $0.map { .double(Check.rounded($0, 3)) } ?? .null })),
            ("vanilla_tokens_per_second", .double(Check.rounded(plainTokensPerSecond, 1))),
            ("speculative_tokens_per_second", .double(Check.rounded(speculativeTokensPerSecond, 1))),
            ("speedup", .double(Check.rounded(speedup, 3))),
            ("tree", .object([("top_k", .int(settings.topK)), ("depth", .int(settings.depth)), ("total_tokens", .int(settings.totalTokens))])),
            ("max_tokens", .int(maxTokens)), ("temperature", .double(sampling.temperature)),
        ])
    }
}

/// `--top-k`, `--depth`, `--total-tokens`: each overrides one setting of a default tree.
struct TreeOptions: ParsableArguments {
    @Option(help: "Children per node.")
    var topK: Int?

    @Option(help: "Draft levels minus one, HASS's convention.")
    var depth: Int?

    @Option(help: "Tree nodes including the root.")
    var totalTokens: Int?

    func validate() throws {
        guard (topK ?? 1) > 0, (depth ?? 1) > 0, (totalTokens ?? 2) > 1 else {
            throw ValidationError("--top-k and --depth must be positive and --total-tokens at least 2")
        }
    }

    func apply(to tree: TreeSettings) -> TreeSettings {
        TreeSettings(topK: topK ?? tree.topK, depth: depth ?? tree.depth, totalTokens: totalTokens ?? tree.totalTokens)
    }
}

/// The prompts `check` and `compat` run: a bundled set, or one prompt per line of a file.
enum PromptSet {
    /// A few chat, code and math prompts, short enough for a smoke test on the CPU.
    static let bundled = [
        "What are three tips for staying focused while working from home?",
        "Write a short, friendly reply declining a meeting invitation.",
        "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
        "def read_lines(path):\n    with open(path) as f:\n",
        "import json\n\ndef load_config(path):\n",
        "Question: A train travels 120 km in 1.5 hours. What is its average speed?\nAnswer:",
        "Question: What is 17 * 23?\nAnswer: Let's compute step by step.",
    ]

    static func texts(file: String?) throws -> [String] {
        guard let file else { return bundled }
        let data: [UInt8]
        data = try FileSystem.readFile(file)
        let texts = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
        guard !texts.isEmpty else { throw ValidationError("\(file) has no prompts (one per line)") }
        return texts
    }
}
