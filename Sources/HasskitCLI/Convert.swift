import ArgumentParser
import Conversion
import StrictJSON

/// `hasskit convert SRC --out OUT.hkw [--type T] [--draft-of BASE.hkw] [--json]`.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint (LLaMA-2/3, Qwen2, DeepSeek-V3, HASS head) into a .hkw file.",
        discussion: """
            Types: f32, f16, bf16 (exact for sources of that type), q8_0, q4_0, q4_k, q6_k and q4_k_m \
            (ggml-compatible blocks; rows that do not fit fall back to q8_0 or f16), fp8 (FP8 weights kept \
            with their block scales, byte for byte). Norms and biases are always stored as f32. \
            Tensors stream through in bands, so memory stays small whatever the model size. The output \
            appears only when complete; an existing file is replaced only with --force.
            """
    )

    @Argument(help: "A checkpoint folder (config.json + weights) or a weights file.")
    var source: String

    @Option(name: .shortAndLong, help: "The .hkw file to write.")
    var out: String

    @Option(help: "Output type: \(ConversionType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: String = "q8_0"

    @Option(name: .customLong("draft-of"), help: ArgumentHelp("For a HASS head: the converted base it belongs to; the head's copy of the base embedding is then dropped when equal.", valueName: "BASE.hkw"))
    var draftOf: String?

    @Flag(help: "Replace OUT if it exists.")
    var force = false

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    @Flag(name: .shortAndLong, help: "Log each tensor to stderr.")
    var verbose = false

    func run() throws {
        guard let t = ConversionType(rawValue: type.lowercased()) else {
            throw ValidationError("unknown --type \(type); choose one of \(ConversionType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var options = Converter.Options(type: t, draftOf: draftOf, force: force, arguments: CommandLine.arguments)
        options.hashSources = true
        let report: Converter.Report
        do {
            report = try Converter.convert(source: source, out: out, options: options, log: { if verbose { Console.log($0) } })
        } catch {
            throw fail(error)
        }
        if json {
            Console.out(report.json.serialized())
        } else {
            Console.out("""
                \(report.out): \(report.tensors) tensors, \(report.family.rawValue), \(report.type.rawValue)
                  \(formatBytes(report.bytesIn)) in, \(formatBytes(report.bytesOut)) out in \(String(format1: report.seconds)) s, peak memory \(formatBytes(report.peakRSS))
                  largest relative RMS error \(report.maxRelRMSE)\(report.shared.isEmpty ? "" : "\n  shared with the base: " + report.shared.joined(separator: ", "))
                """)
        }
    }
}

extension String {
    init(format1 v: Double) {
        self = String(Int((v * 100).rounded())).inserting(".", atFromEnd: 2)
    }
}
