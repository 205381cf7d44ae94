import ArgumentParser
import Checks
import Foundation
import Inference
import Platform
import StrictJSON

/// `hasskit eval MODEL.hkw --reference REF.hkw`: how far a conversion's next-token distribution
/// moved from a reference's, as llama.cpp's `perplexity --kl-divergence` measures it.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a converted model against a reference: mean KL divergence, top-1 agreement, perplexity.",
        discussion: """
            Both models read the same text (a bundled one of about three thousand tokens, or --text), \
            cut into chunks of --context tokens that each start afresh with the tokenizer's BOS; the \
            second half of each chunk is scored, as llama.cpp's perplexity tool scores it. The mean \
            KL(reference ‖ model) is in nats. Typical use: MODEL a quantized conversion, REF the f32 \
            conversion of the same weights.
            """)

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "The converted model to measure (.hkw).")
    var model: String

    @Option(help: ArgumentHelp("The converted reference (.hkw), e.g. the f32 conversion.", valueName: "REF.hkw"))
    var reference: String

    @Option(help: ArgumentHelp("A UTF-8 text file to score instead of the bundled text.", valueName: "file"))
    var text: String?

    @Option(help: "Tokens per chunk.")
    var context = 256

    @OptionGroup(title: "Engine") var engine: EngineOptions

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func validate() throws {
        guard context >= 8 else { throw ValidationError("--context must be at least 8") }
    }

    func run() throws {
        let (report, tokens) = try Self.measure(
            model: model, reference: reference, text: text, context: context, threads: engine.effectiveThreads,
            activations: engine.activations)
        if json {
            Console.out(Self.json(report, model: model, reference: reference, tokens: tokens).serialized())
        } else {
            Console.out(Self.render(report, model: model, reference: reference, tokens: tokens))
        }
    }

    static func measure(
        model: String, reference: String, text: String?, context: Int, threads: Int,
        activations: Activations = .default
    ) throws -> (FidelityReport, tokens: Int) {
        let extras = try ModelExtras(path: reference)
        guard let tokenizer = extras.tokenizer else {
            throw ValidationError("\(reference) carries no tokenizer, so it cannot read a text")
        }
        let body =
            try text.map { String(decoding: try FileSystem.readFile($0), as: UTF8.self) } ?? FidelityEval.defaultText
        let prefix = tokenizer.encode("", addSpecialTokens: true)
        let tokens = tokenizer.encode(body)
        let m = try Models.openBase(path: model, threads: max(1, threads), activations: activations)
        let r = try Models.openBase(path: reference, threads: max(1, threads), activations: activations)
        guard m.vocabularySize == r.vocabularySize else {
            throw ValidationError(
                "\(model) has a vocabulary of \(m.vocabularySize), \(reference) of \(r.vocabularySize): not the same model"
            )
        }
        guard tokens.allSatisfy({ $0 < r.vocabularySize }) else {
            throw ValidationError("the tokenizer gives ids outside the models' vocabulary of \(r.vocabularySize)")
        }
        return (
            FidelityEval.run(model: m, reference: r, tokens: tokens, prefix: prefix, context: context), tokens.count
        )
    }

    static func json(_ report: FidelityReport, model: String, reference: String, tokens: Int) -> JSONValue {
        .object([
            ("model", .string(model)), ("reference", .string(reference)), ("tokens", .int(tokens)),
            ("positions", .int(report.positions)), ("mean_kld", .double(report.meanKLD)),
            ("max_kld", .double(report.maxKLD)), ("top1_agreement", .double(report.top1Agreement)),
            ("perplexity", .double(report.perplexity)), ("reference_perplexity", .double(report.referencePerplexity)),
        ])
    }

    static func render(_ report: FidelityReport, model: String, reference: String, tokens: Int) -> String {
        """
        \(model) against \(reference): \(report.positions) positions scored of \(tokens) tokens
          mean KLD        \(String(format: "%.6f", report.meanKLD)) nats (max \(String(format: "%.4f", report.maxKLD)))
          top-1 agreement \(String(format: "%.2f", report.top1Agreement * 100)) %
          perplexity      \(String(format: "%.4f", report.perplexity)) (reference \(String(format: "%.4f", report.referencePerplexity)))
        """
    }
}
