import ArgumentParser
import Conversion
import Foundation
import Hub
import Pairs
import Checks
import Inference
import LoopbackHub
import Platform
import Registry
import StrictJSON
import Tokenizers
import WeightFormat

/// `hasskit demo`: every step a user takes with a published pair, on the bundled demo pair and
/// without a network: the registry entry, a verified pull from a hub (an in-process imitation on
/// loopback serving the repository's own files), conversion and quantization, `compat`, and the
/// speculative-decoding `check` on the prompts HASS's own code was measured on.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole pipeline on the bundled demo pair, offline: pull, convert, compat, check.",
        discussion: """
            The demo pair (Tests/Fixtures/demo-pair: a 6.5M-parameter LLaMA-3-style base trained on \
            Python and a HASS head trained for it) is served by a hub imitation on 127.0.0.1 under the \
            registry's `demo` entry, so `pull` runs its real code path (API, tree listing, LFS redirect, \
            SHA-256, the HF cache layout) into the demo's own folder, never your cache. Both models are \
            then converted, the head is checked against the base, and every prompt of the pair's \
            refs.json is decoded plainly and speculatively; τ is compared with what HASS's own \
            implementation measured on the same prompts and tree. Exits 1 when the outputs differ, \
            78 when the pair does not fit.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Option(
        help: ArgumentHelp(
            "The demo pair folder (base/, draft/, refs.json); default: found beside the hasskit binary or under the current folder.",
            valueName: "DIR"))
    var pairDir: String?

    @Option(
        help: ArgumentHelp(
            "Where the demo keeps its hub cache, lock and converted files (default: $HASSKIT_HOME/demo).",
            valueName: "DIR"))
    var workdir: String?

    @Option(help: "Conversion type for both models.")
    var type = "q8_0"

    @Option(help: "Tokens to generate per prompt.")
    var maxTokens = 64

    @Option(help: "Use only the first N prompts of the pair's eight.")
    var promptCount: Int?

    @OptionGroup(title: "Engine") var engine: EngineOptions

    @Flag(help: "Print one JSON document on stdout instead of the report.")
    var json = false

    func validate() throws {
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        guard (promptCount ?? 1) > 0 else { throw ValidationError("--prompt-count must be positive") }
        guard ConversionType(rawValue: type.lowercased()) != nil else {
            throw ValidationError(
                "unknown --type \(type); choose one of \(ConversionType.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
    }

    func run() throws {
        let conversion = ConversionType(rawValue: type.lowercased()) ?? .q8_0
        let source = try DemoPair.locate(pairDir)
        guard let manifest = try loadRegistry().manifest(named: "demo") else {
            throw ValidationError("the registry has no `demo` entry (manifests/demo.json)")
        }
        let home = workdir ?? HubEnvironment.fromProcess().hasskitHome + "/demo"
        let tree = TreeSettings(manifest.gpuTree)
        func step(_ n: Int, _ name: String, _ text: String) {
            if !json { Console.out("[\(n)/5] \(name.padding(9)) \(text)") }
        }
        step(
            1, "registry",
            "\(manifest.id): \(manifest.base.repo) + \(manifest.draft.repo) (\(manifest.draftKind.rawValue)), from \(source.folder)"
        )

        // 2. Pull through the real client from a loopback hub serving the bundled files: the
        // demo is the pair workflow pointed at that hub, with its own cache and store.
        let hub = try LoopbackHub()
        defer { hub.stop() }
        hub.addRepo(manifest.base.repo, files: try source.files("base"))
        hub.addRepo(manifest.draft.repo, files: try source.files("draft"))
        let environment = HubEnvironment(
            endpoint: hub.endpoint, token: nil, cacheDirectory: home + "/hub", offline: false, hasskitHome: home)
        let workspace = PairWorkspace(manifest: manifest, client: HubClient(environment: environment), folder: home)
        let summary = try workspace.pull(progress: DownloadProgress(style: .quiet) { _ in })
        let bytes = summary.files.reduce(UInt64(0)) { $0 + $1.bytes }
        step(
            2, "pull",
            "\(summary.files.count) files, \(formatBytes(bytes)) from \(hub.endpoint) (\(formatBytes(summary.bytesDownloaded)) fetched, SHA-256 checked) in \(String(format: "%.2f", summary.seconds)) s"
        )

        // 3. Convert both members; the head against the converted base.
        let converted = try workspace.convert(
            type: conversion,
            options: Converter.Options(type: conversion, force: true, arguments: CommandLine.arguments))
        let reports = [converted.base, converted.draft]
        let (baseOut, draftOut) = (converted.files.base, converted.files.draft)
        step(
            3, "convert",
            "base \(formatBytes(reports[0].bytesIn)) → \(formatBytes(reports[0].bytesOut)), head \(formatBytes(reports[1].bytesIn)) → \(formatBytes(reports[1].bytesOut)) as \(conversion.rawValue) in \(String(format: "%.2f", reports[0].seconds + reports[1].seconds)) s"
        )

        // 4. Does the head fit the base, and how often does it predict it?
        var compat = try PairWorkspace.structuralCompat(base: baseOut, draft: draftOut)
        guard compat.compatible else {
            if json {
                Console.out(JSONValue.object([("pair", .string(manifest.id)), ("compat", compat.json)]).serialized())
            }
            for c in compat.checks where !c.ok {
                Console.log("FAIL \(c.name): expected \(c.expected), found \(c.found)")
            }
            throw ExitCode(HasskitExit.incompatible)
        }
        let pair = try OpenedPair(
            base: baseOut, draft: draftOut, threads: engine.effectiveThreads, activations: engine.activations)
        let prompts = try pair.encode(texts: Array(source.prompts.prefix(promptCount ?? source.prompts.count)))
        compat.top1Agreement = pair.top1Agreement(prompts: prompts, continuation: min(32, maxTokens))
        step(
            4, "compat",
            "\(compat.checks.count)/\(compat.checks.count) structural checks pass; the head's top-1 token equals the base's \(String(format: "%.1f", (compat.top1Agreement ?? 0) * 100)) % of the time"
        )

        // 5. Speculative decoding against plain greedy decoding.
        let check = pair.check(prompts: prompts, settings: tree, maxTokens: maxTokens)
        let referenceTau = manifest.published["temperature_0"]?["tau"]?.doubleValue
        let same = check.results.filter { $0.firstDifference == nil }.count
        step(
            5, "check",
            "\(prompts.count) prompts × \(maxTokens) tokens, tree \(tree.totalTokens)/\(tree.depth)/\(tree.topK): speculative output \(check.identical ? "identical to" : "DIFFERS from") plain greedy (\(same)/\(prompts.count))"
        )
        if json {
            Console.out(
                JSONValue.object([
                    ("pair", .string(manifest.id)), ("workdir", .string(home)),
                    (
                        "pull",
                        .object([
                            ("files", .int(summary.files.count)), ("bytes", .int(bytes)),
                            ("bytes_downloaded", .int(summary.bytesDownloaded)),
                            ("seconds", .double(Check.rounded(summary.seconds, 3))),
                        ])
                    ),
                    ("convert", .object([("base", reports[0].json), ("draft", reports[1].json)])),
                    ("compat", compat.json),
                    ("check", check.json(sampling: .greedy, maxTokens: maxTokens)),
                    ("reference_acceptance_length", referenceTau.map { .double($0) } ?? .null),
                ]).serialized())
        } else {
            Console.out(
                """

                τ            \(String(format: "%.2f", check.tau)) tokens per base pass\(referenceTau.map { String(format: " (HASS's own code on these prompts and tree: %.2f)", $0) } ?? "")
                accept rate  \(check.acceptRateByDepth.enumerated().map { "d\($0 + 1) " + ($1.map { String(format: "%.2f", $0) } ?? "–") }.joined(separator: "  "))
                plain        \(String(format: "%.1f", check.plainTokensPerSecond)) tok/s
                speculative  \(String(format: "%.1f", check.speculativeTokensPerSecond)) tok/s (\(String(format: "%.2f", check.speedup))×; this base is too small for drafting to pay off on a CPU)

                The converted pair is in \(home):
                  \(CommandLine.arguments.first ?? "hasskit") run \(baseOut) --draft \(draftOut) --prompt 'def fibonacci(n):'
                """)
        }
        if !check.identical { throw ExitCode(1) }
    }
}

/// The bundled demo pair on disk: `base/`, `draft/` and HASS's `refs.json`.
struct DemoPair {
    var folder: String
    /// The prompts of refs.json (HASS's own measurements were made on them).
    var prompts: [String]

    /// Finds the folder: the option, `HASSKIT_DEMO_PAIR`, then `Tests/Fixtures/demo-pair` above the
    /// binary (a build in the repository) or under the current folder.
    static func locate(_ option: String?) throws -> DemoPair {
        var candidates: [String] = []
        if let option { candidates.append(option) }
        if let env = ProcessInfo.processInfo.environment["HASSKIT_DEMO_PAIR"], !env.isEmpty { candidates.append(env) }
        if option == nil {
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
                .deletingLastPathComponent()
            for _ in 0..<5 {
                candidates.append(dir.path + "/Tests/Fixtures/demo-pair")
                candidates.append(dir.path + "/share/hasskit/demo-pair")
                dir = dir.deletingLastPathComponent()
            }
            candidates.append(FileManager.default.currentDirectoryPath + "/Tests/Fixtures/demo-pair")
        }
        guard
            let folder = candidates.first(where: {
                FileSystem.kind(of: $0 + "/base/config.json") == .file
                    && FileSystem.kind(of: $0 + "/draft/config.json") == .file
            })
        else {
            throw ValidationError(
                "the demo pair was not found (looked in \(option ?? "Tests/Fixtures/demo-pair beside the binary and under the current folder")); give --pair-dir DIR"
            )
        }
        var prompts = PromptSet.bundled
        if FileSystem.kind(of: folder + "/refs.json") == .file {
            let refs = try JSONParser(maxDepth: 64).parse(try FileSystem.readFile(folder + "/refs.json"))
            let texts = refs["prompts"]?.arrayValue?.compactMap { $0["text"]?.stringValue } ?? []
            if !texts.isEmpty { prompts = texts }
        }
        return DemoPair(folder: folder, prompts: prompts)
    }

    /// The files of one member folder, as the loopback hub serves them.
    func files(_ member: String) throws -> [(String, [UInt8])] {
        let dir = folder + "/" + member
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        return try names.map { ($0, try FileSystem.readFile(dir + "/" + $0)) }
    }
}
