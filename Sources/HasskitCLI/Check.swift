import ArgumentParser
import Foundation
import Hub
import Inference
import Checks
import Pairs
import Platform
import Registry
import StrictJSON
import Tokenizers
import WeightFormat

/// `hasskit check --base B.hkw --draft D.hkw`: the speculative-decoding smoke test. Each prompt is
/// decoded plainly and through the draft tree; the outputs must be identical token for token.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Prove a base + draft pair decodes losslessly: speculative output vs plain greedy, with τ and speed-up.",
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

    @Option(
        help:
            "Sampling temperature; above 0 the outputs are not compared (they are samples), only τ and speed reported.")
    var temperature = 0.0

    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 0

    @Option(
        help: ArgumentHelp(
            "Prompts instead of the bundled set: a text file (one prompt per line), or conversations (.json: a list of message lists; .jsonl: one per line), rendered with the base's chat template.",
            valueName: "file"))
    var prompts: String?

    @Flag(help: "Wrap each text prompt as a user turn in the base's chat template.")
    var chat = false

    @Option(help: "Chat format for a base that carries no chat template: llama2, llama3 or chatml.")
    var template: ChatFormat?

    @Option(help: "Tokens to generate per prompt.")
    var maxTokens = 64

    @OptionGroup(title: "Draft tree (default: the pair's CPU tree, else HASS's 60/5/10)") var tree: TreeOptions

    @OptionGroup(title: "Engine") var engine: EngineOptions

    @Flag(
        help: "Run even when the pair needs more memory than this machine has available (refused by default, exit 79).")
    var force = false

    @OptionGroup(title: "Draft vocabulary") var vocabulary: DraftVocabularyOptions

    @Option(
        help: ArgumentHelp(
            "Check a serving engine the pair was exported to (its base URL, e.g. http://localhost:30000) instead of hasskit's engine.",
            valueName: "URL"))
    var server: String?

    @Option(name: .customLong("engine"), help: "The server's API: sglang (/generate) or vllm (/v1/completions).")
    var servingEngine: ServingEngine = .sglang

    @Option(
        help: ArgumentHelp(
            "A second server of the same engine, without speculation, for the plain outputs (default: hasskit's engine on --base).",
            valueName: "URL"))
    var plainServer: String?

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func validate() throws {
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        if server != nil {
            guard (pair == nil) != (base == nil) else {
                throw ValidationError(
                    "with --server, give a pair or --base (a .hkw or a checkpoint folder: its tokenizer)")
            }
            guard temperature == 0 else { throw ValidationError("--server checks greedy decoding (temperature 0)") }
            return
        }
        guard (pair == nil) == (base != nil && draft != nil), base == nil || draft != nil, draft == nil || base != nil
        else {
            throw ValidationError("give a pair, or both --base and --draft")
        }
        guard temperature >= 0, temperature.isFinite else {
            throw ValidationError("--temperature must be 0 or positive")
        }
    }

    /// The two files and the tree: from the options, or from a converted pair in the store.
    func resolve() throws -> (base: String, draft: String, tree: TreeSettings) {
        guard let pair else { return (base ?? "", draft ?? "", self.tree.apply(to: .published)) }
        let workspace = try pairWorkspace(named: pair)
        let files = try workspace.convertedFiles(type: type)
        return (files.base, files.draft, self.tree.apply(to: workspace.cpuTree))
    }

    func run() throws {
        if let server {
            try runServer(server)
            return
        }
        let (base, draft, settings) = try resolve()
        let sampling = Sampling(temperature: temperature, seed: seed)
        // The pair first: a head made for another base is the likeliest mistake.
        let prompts = try PromptSet.prompts(file: prompts)
        let memory = MemoryEstimate.Request(
            promptTokens: prompts.map(MemoryEstimate.Request.bound), maxTokens: maxTokens,
            treeNodes: settings.totalTokens, force: force)
        let opened = try OpenedPair(
            base: base, draft: draft, threads: engine.effectiveThreads, activations: engine.activations, memory: memory,
            draftVocabulary: vocabulary.request)
        var template: ChatTemplate?
        if chat || self.template != nil
            || prompts.contains(where: { if case .conversation = $0 { true } else { false } })
        {
            let (t, warning) = try opened.extras.chatTemplate(named: self.template, path: base)
            if let warning { Console.log("hasskit: warning: \(warning)") }
            template = t
        }
        let ids = try opened.encode(prompts, template: template)
        let check = opened.check(prompts: ids, settings: settings, maxTokens: maxTokens, sampling: sampling) { i, r in
            guard !json else { return }
            let mark =
                !sampling.isGreedy ? "sampled" : r.firstDifference.map { "DIFFERS at token \($0)" } ?? "identical"
            let tau =
                Double(r.acceptLengths.reduce(0, +) + r.acceptLengths.count) / Double(max(1, r.acceptLengths.count))
            Console.log(
                "prompt \(i + 1)/\(ids.count): \(r.plain.count) tokens, τ \(String(format: "%.2f", tau)), \(mark)")
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
            Console.out(
                "τ            \(String(format: "%.2f", check.tau)) tokens per base pass (tree \(settings.totalTokens)/\(settings.depth)/\(settings.topK))"
            )
            Console.out(
                "accept rate  "
                    + check.acceptRateByDepth.enumerated().map {
                        "d\($0 + 1) " + ($1.map { String(format: "%.2f", $0) } ?? "–")
                    }.joined(separator: "  "))
            Console.out("plain        \(String(format: "%.1f", check.plainTokensPerSecond)) tok/s")
            Console.out(
                "speculative  \(String(format: "%.1f", check.speculativeTokensPerSecond)) tok/s (\(String(format: "%.2f", check.speedup))×)"
            )
        }
        if sampling.isGreedy && !check.identical { throw ExitCode(1) }
    }

    /// `--server`: the prompts through the base's tokenizer and chat template, sent to the server;
    /// the plain outputs from --plain-server, or from hasskit's engine on the base.
    func runServer(_ server: String) throws {
        let base = try pair.map { try pairWorkspace(named: $0).convertedOrPulled(type: type).base } ?? self.base ?? ""
        let converted = base.hasSuffix(".hkw")
        let extras = converted ? try ModelExtras(path: base) : try ModelExtras(folder: base)
        let prompts = try PromptSet.prompts(file: prompts)
        var template: ChatTemplate?
        if chat || self.template != nil
            || prompts.contains(where: { if case .conversation = $0 { true } else { false } })
        {
            let (t, warning) = try extras.chatTemplate(named: self.template, path: base)
            if let warning { Console.log("hasskit: warning: \(warning)") }
            template = t
        }
        let ids = try prompts.map { try extras.encode($0, chat: template, path: base) }
        let plain: ServerCheck.Plain
        if let plainServer {
            plain = .server(plainServer, servingEngine)
        } else {
            guard converted else {
                throw ValidationError(
                    "without --plain-server the plain outputs come from hasskit's engine: give a converted --base")
            }
            let file = try HKWFile(path: base)
            try MemoryEstimate.Request(
                promptTokens: ids.map(\.count), maxTokens: maxTokens, treeNodes: 0, force: force
            ).require(base: file, draft: nil)
            plain = .engine(
                try Models.openBase(file: file, threads: engine.effectiveThreads, activations: engine.activations))
        }
        let check = try ServerCheck.run(
            server: server, engine: servingEngine, plain: plain, prompts: ids, maxTokens: maxTokens,
            stopTokens: extras.stopTokens)
        if json {
            Console.out(check.json(maxTokens: maxTokens, server: server).serialized())
        } else {
            for (i, r) in check.results.enumerated() {
                Console.log(
                    "prompt \(i + 1)/\(ids.count): \(r.speculative.count) tokens, \(r.firstDifference.map { "DIFFERS at token \($0)" } ?? "identical")"
                )
            }
            let same = check.results.filter { $0.firstDifference == nil }.count
            Console.out("identical    \(check.identical ? "yes" : "NO") (\(same)/\(ids.count) prompts)")
            Console.out(
                "τ            \(check.tau.map { String(format: "%.2f", $0) } ?? "–") tokens per verification (the server's counters)"
            )
            Console.out("plain        \(String(format: "%.1f", check.plainTokensPerSecond)) tok/s")
            Console.out(
                "speculative  \(String(format: "%.1f", check.speculativeTokensPerSecond)) tok/s at \(server) (\(servingEngine.rawValue))"
            )
        }
        if !check.identical { throw ExitCode(1) }
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
            (
                "accept_rate_by_depth",
                .array(acceptRateByDepth.map { $0.map { .double(Check.rounded($0, 3)) } ?? .null })
            ),
            ("vanilla_tokens_per_second", .double(Check.rounded(plainTokensPerSecond, 1))),
            ("speculative_tokens_per_second", .double(Check.rounded(speculativeTokensPerSecond, 1))),
            ("speedup", .double(Check.rounded(speedup, 3))),
            (
                "tree",
                .object([
                    ("top_k", .int(settings.topK)), ("depth", .int(settings.depth)),
                    ("total_tokens", .int(settings.totalTokens)),
                ])
            ),
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

extension ServingEngine: ExpressibleByArgument {}
