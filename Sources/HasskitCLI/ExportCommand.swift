import ArgumentParser
import Export
import Foundation
import Hub
import Pairs
import Platform
import Registry
import StrictJSON

/// `hasskit export`: a pair prepared for SGLang or vLLM, with the commands that serve it.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Prepare a pair for SGLang or vLLM: the draft in the layout the engine loads, and launch commands per node.",
        discussion: """
            Writes OUT/draft (config.json and model.safetensors in the base's dtype, corrected for the \
            engine: SGLang's Eagle architecture names and a zero fc.bias where the head has none; for \
            vLLM no embedding or head, and fc.bias folded exactly into the attention biases, checked on \
            random inputs, or refused), OUT/launch.sh and OUT/README.md with the command for every node \
            and the tree mapped to the engine's flags, and OUT/EXPORT.json with the rules applied. The \
            base is not copied: the commands point at its folder (for a pulled pair, the hub-cache \
            snapshot). DeepSeek's MTP layer keeps its FP8 weights and scales. The written draft is \
            re-read and checked tensor by tensor. --dry-run prints the plan and writes nothing.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A pulled pair (see hasskit list); or give --base and --draft.")
    var pair: String?

    @Option(help: "The base model's folder (config.json + weights).")
    var base: String?

    @Option(help: "The draft's folder (a HASS head, or a DeepSeek checkpoint holding the MTP layer).")
    var draft: String?

    @Option(help: "sglang or vllm.")
    var engine: String

    @Option(help: "The folder to write.")
    var out: String

    @Option(help: "Nodes (default 1; 2 for deepseek-r1, the published setting).")
    var nodes: Int?

    @Option(help: "GPUs per node (default 1; 8 for deepseek-r1).")
    var gpusPerNode: Int?

    @OptionGroup(title: "Draft tree (default: the pair's GPU tree, else HASS's 60/5/10)") var tree: TreeOptions

    @Flag(help: "Print the plan (files, sizes, commands) and write nothing.")
    var dryRun = false

    @Flag(help: "Write into OUT even if it holds files.")
    var force = false

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func validate() throws {
        guard Engine(rawValue: engine.lowercased()) != nil else {
            throw ValidationError("--engine must be sglang or vllm")
        }
        guard (pair == nil) == (base != nil && draft != nil), (base == nil) == (draft == nil) else {
            throw ValidationError("give a pair, or both --base and --draft")
        }
        guard (nodes ?? 1) > 0, (gpusPerNode ?? 1) > 0 else {
            throw ValidationError("--nodes and --gpus-per-node must be positive")
        }
    }

    func run() throws {
        let engine = Engine(rawValue: self.engine.lowercased()) ?? .sglang
        var defaultTree = ExportTree.published
        var defaults = (nodes: 1, gpus: 1)
        var folders = (base: base ?? "", draft: draft ?? "")
        var kind: String?
        var provenance: [(String, JSONValue)] = []
        if let pair {
            let workspace = try pairWorkspace(named: pair)
            let manifest = workspace.manifest
            folders = try workspace.snapshots()
            defaultTree = ExportTree(manifest.gpuTree)
            kind = manifest.draftKind.rawValue
            if manifest.draftKind == .deepseekMTP { defaults = (2, 8) }
            provenance = [
                ("pair", .string(manifest.id)), ("base_repo", .string(manifest.base.repo)),
                ("draft_repo", .string(manifest.draft.repo)),
            ]
        }
        let tree = ExportTree(
            topK: self.tree.topK ?? defaultTree.topK, depth: self.tree.depth ?? defaultTree.depth,
            totalTokens: self.tree.totalTokens ?? defaultTree.totalTokens)
        let absolute = { (p: String) in p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p }
        let request = Exporter.Request(
            base: folders.base, draft: folders.draft, engine: engine, baseReference: absolute(folders.base),
            draftKind: kind, tree: tree, nodes: nodes ?? defaults.nodes, gpusPerNode: gpusPerNode ?? defaults.gpus,
            out: absolute(out))
        provenance += [("base", .string(request.baseReference)), ("draft", .string(absolute(folders.draft)))]
        let plan: ExportPlan
        plan = try Exporter.plan(request)
        var written: [String: Int] = [:]
        if !dryRun {
            written = try Exporter.write(plan, request: request, force: force, provenance: .object(provenance))
        }
        if json {
            Console.out(
                JSONValue.object([
                    ("engine", .string(engine.rawValue)), ("kind", .string(plan.kind)), ("out", .string(request.out)),
                    ("dry_run", .bool(dryRun)),
                    ("draft_bytes", .int(plan.safetensorsBytes)),
                    (
                        "tensors",
                        .array(
                            plan.tensors.map {
                                .object([
                                    ("name", .string($0.name)), ("dtype", .string($0.dtype.rawValue)),
                                    ("shape", .array($0.shape.map { .int($0) })),
                                ])
                            })
                    ),
                    ("config", plan.config), ("rules", .array(plan.notes.map { .string($0) })),
                    ("warnings", .array(plan.warnings.map { .string($0) })),
                    ("fold_check_max_relative_difference", plan.foldCheck.map { .double($0) } ?? .null),
                    ("commands", .array(plan.launch.commands.map { .string($0) })),
                    ("files", .object(written.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
                ]).serialized())
            return
        }
        var lines = [
            "\(dryRun ? "would write" : "wrote") \(request.out) for \(engine.rawValue) (\(plan.kind), \(plan.tensors.count) tensors, draft \(formatBytes(UInt64(plan.safetensorsBytes))))"
        ]
        lines += plan.notes.map { "  rule     \($0)" }
        lines += plan.warnings.map { "  warning  \($0)" }
        for (rank, c) in plan.launch.commands.enumerated() { lines.append("  node \(rank)   \(c)") }
        Console.out(lines.joined(separator: "\n"))
    }
}
