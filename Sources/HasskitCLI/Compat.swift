import ArgumentParser
import Foundation
import Hub
import Checks
import Pairs
import Platform
import Inference
import StrictJSON
import WeightFormat

/// `hasskit compat BASE DRAFT` / `hasskit compat PAIR`: before anything runs, does the head fit the base?
struct Compat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check that a HASS head fits its base, then how often it predicts the base's next token.",
        discussion: """
            BASE and DRAFT are converted .hkw files or checkpoints (a folder with config.json and \
            safetensors, sharded or not, or a .bin; a GGUF file); a PAIR uses its converted files, else \
            its pulled snapshots. Structural checks read headers, configs and tokenizer files only, never \
            a weight: architectures, hidden size, vocabulary, fc shape and bias, the head's attention \
            shapes, RoPE, special tokens, tokenizer, weight types, and the base the head was converted \
            against. When they pass and both are converted (and the pair fits this machine's memory), \
            both models run on the prompt set (bundled, or one prompt per line of --prompts): the base \
            continues each prompt greedily and, at every position of that continuation, the head's top-1 \
            token is compared with the base's; the report says whether that check ran, and why not. \
            Exits 78 when the pair does not fit.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A base: a converted .hkw or a checkpoint; or a pair's name (then no DRAFT).")
    var base: String

    @Argument(help: "Its HASS draft head: a converted .hkw or a checkpoint.")
    var draft: String?

    @Option(help: "For a pair converted to several types: which one (e.g. q8_0).")
    var type: String?

    @Flag(
        help:
            "For a PAIR: decide before downloading, from the hub (configs and tokenizer files whole, each weights file's header by range requests)."
    )
    var remote = false

    @Option(help: "A text file with one prompt per line (instead of the bundled set).")
    var prompts: String?

    @Option(help: "Tokens the base generates per prompt for the agreement check.")
    var continuation = 32

    @OptionGroup(title: "Engine") var engine: EngineOptions

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func workspace() throws -> PairWorkspace { try pairWorkspace(named: base, hint: "; or give BASE and DRAFT") }

    /// The two inputs: as given, or a pair's converted files (else its pulled snapshots).
    func resolve() throws -> (base: String, draft: String) {
        if let draft { return (base, draft) }
        return try workspace().convertedOrPulled(type: type)
    }

    func validate() throws {
        if remote && draft != nil { throw ValidationError("--remote takes a pair's name, not two models") }
    }

    func run() throws {
        var report: PairCompatibility
        var remoteRead: RemoteCompat?
        if remote {
            let r = try workspace().remoteCompat()
            report = r.report
            report.numericSkipped = "--remote reads headers only; pull and convert the pair to measure the agreement"
            remoteRead = r
        } else {
            let (base, draft) = try resolve()
            report = try PairWorkspace.structuralCompat(base: base, draft: draft)
            report.numericSkipped = try numericCheck(&report, base: base, draft: draft)
        }
        if let why = report.numericSkipped, !json { Console.log("note: the agreement check did not run: \(why)") }
        if json {
            var doc = report.json
            if let r = remoteRead, case .object(var members) = doc {
                members += [
                    ("bytes_read", .int(Int(r.bytesRead))), ("requests", .int(r.requests)),
                    ("bytes_on_hub", .int(Int(r.bytesOnHub))),
                ]
                doc = .object(members)
            }
            Console.out(doc.serialized())
        } else {
            let width = report.checks.map(\.name.count).max() ?? 0
            for c in report.checks {
                let name = c.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let line =
                    c.ok ? "ok    \(name)  \(c.found)" : "FAIL  \(name)  expected \(c.expected), found \(c.found)"
                Console.out(line + (c.note.map { "  (\($0))" } ?? ""))
            }
            if let a = report.top1Agreement {
                Console.out("top-1 agreement with the base: \(String(format: "%.1f", a * 100)) %")
            }
            if let r = remoteRead {
                Console.out(
                    "read \(ByteCount.format(r.bytesRead)) in \(r.requests) requests from the hub, of the \(ByteCount.format(r.bytesOnHub)) a pull would download"
                )
            }
            Console.out(report.compatible ? "compatible" : "NOT compatible: the head does not fit the base")
        }
        if !report.compatible { throw ExitCode(HasskitExit.incompatible) }
    }

    /// Runs the agreement check when it can; returns why it did not.
    func numericCheck(_ report: inout PairCompatibility, base: String, draft: String) throws -> String? {
        guard report.compatible else { return "the pair does not fit" }
        guard base.hasSuffix(".hkw"), draft.hasSuffix(".hkw") else {
            return "it runs both models, so it needs them converted (hasskit convert)"
        }
        let opened: OpenedPair
        do {
            opened = try OpenedPair(
                base: base, draft: draft, threads: engine.effectiveThreads, activations: engine.activations,
                memory: .init(promptTokens: [512], maxTokens: continuation, treeNodes: 0, force: false))
        } catch let e as CheckError {
            guard case .doesNotFit = e.code else { throw e }
            return e.description
        }
        guard opened.extras.tokenizer != nil else { return "\(base) carries no tokenizer.json" }
        let ids = try opened.encode(texts: try PromptSet.texts(file: prompts))
        report.top1Agreement = opened.top1Agreement(prompts: ids, continuation: continuation)
        return nil
    }
}

extension PairCompatibility {
    /// The `compat --json` document (also part of `demo --json`).
    var json: JSONValue {
        .object([
            ("compatible", .bool(compatible)),
            (
                "checks",
                .array(
                    checks.map { c in
                        var members: [(String, JSONValue)] = [
                            ("name", .string(c.name)), ("ok", .bool(c.ok)),
                            ("expected", .string(c.expected)), ("found", .string(c.found)),
                        ]
                        if let note = c.note { members.append(("note", .string(note))) }
                        return .object(members)
                    })
            ),
            ("top1_agreement", top1Agreement.map { .double(($0 * 1000).rounded() / 1000) } ?? .null),
            ("checks_run", .array([.string("structural")] + (top1Agreement == nil ? [] : [.string("agreement")]))),
            ("agreement_skipped", numericSkipped.map { .string($0) } ?? .null),
        ])
    }
}
