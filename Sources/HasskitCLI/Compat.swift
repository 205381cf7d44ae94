import ArgumentParser
import Foundation
import Checks
import Pairs
import Inference
import StrictJSON
import WeightFormat

/// `hasskit compat BASE.hkw DRAFT.hkw`: before anything runs, does the head fit the base?
struct Compat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check that a converted HASS head fits a converted base, then how often it predicts the base's next token.",
        discussion: """
            Structural checks read both headers: architectures, hidden size, vocabulary, fc shape and \
            bias, the head's attention shapes, RoPE, special tokens, tokenizer, and the base the head \
            was converted against. When they pass, both models run on the prompt set (bundled, or one \
            prompt per line of --prompts): the base continues each prompt greedily and, at every position \
            of that continuation, the head's top-1 token is compared with the base's. Exits 78 when the \
            pair does not fit.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A converted base model (.hkw).")
    var base: String

    @Argument(help: "A converted HASS draft head (.hkw).")
    var draft: String

    @Option(help: "A text file with one prompt per line (instead of the bundled set).")
    var prompts: String?

    @Option(help: "Tokens the base generates per prompt for the agreement check.")
    var continuation = 32

    @OptionGroup(title: "Engine") var engine: EngineOptions

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        var report = try PairWorkspace.structuralCompat(base: base, draft: draft)
        if report.compatible {
            let opened = try OpenedPair(
                base: base, draft: draft, threads: engine.effectiveThreads, activations: engine.activations)
            if opened.extras.tokenizer != nil {
                let ids = try opened.encode(texts: try PromptSet.texts(file: prompts))
                report.top1Agreement = opened.top1Agreement(prompts: ids, continuation: continuation)
            } else if !json {
                Console.log("note: \(base) carries no tokenizer.json, so the agreement check was skipped")
            }
        }
        if json {
            Console.out(report.json.serialized())
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
            Console.out(report.compatible ? "compatible" : "NOT compatible: \(draft) does not fit \(base)")
        }
        if !report.compatible { throw ExitCode(HasskitExit.incompatible) }
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
        ])
    }
}
