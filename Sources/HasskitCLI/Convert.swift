import ArgumentParser
import Checks
import Conversion
import Foundation
import Hub
import Pairs
import Platform
import Registry
import StrictJSON

/// `hasskit convert SRC --out OUT.hkw [--type T] [--draft-of BASE.hkw] [--json]`.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint (LLaMA-2/3, Qwen2, DeepSeek-V3, HASS head) into a .hkw file.",
        discussion: """
            Types: f32, f16, bf16 (exact for sources of that type), q8_0, q4_0, q5_0, q4_k, q6_k and \
            q4_k_m (ggml-compatible blocks, chosen per tensor as llama.cpp's quantizer does: the output \
            head at q6_k; rows that do not fit a K-quant fall back to q5_0 or q8_0, then f16), fp8 (FP8 weights kept \
            with their block scales, byte for byte). Norms and biases are always stored as f32. \
            Tensors stream through in bands, so memory stays small whatever the model size. The output \
            appears only when complete; an existing file is replaced only with --force.
            """
    )

    @Argument(
        help:
            "A checkpoint folder (config.json + weights), a weights file, or a pulled pair (both members are converted into the store)."
    )
    var source: String

    @Option(
        name: .shortAndLong,
        help: "The .hkw file to write (for a pair: the folder, default the pair's folder in the store).")
    var out: String?

    @Option(help: "Output type: \(ConversionType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: String = "q8_0"

    @Option(
        name: .customLong("draft-of"),
        help: ArgumentHelp(
            "For a HASS head: the converted base it belongs to; the head's copy of the base embedding is then dropped when equal.",
            valueName: "BASE.hkw"))
    var draftOf: String?

    @Option(
        help: ArgumentHelp(
            "Keep only these decoder layers, e.g. `61` or `0,1`; `mtp` selects DeepSeek's multi-token-prediction layer(s), giving a draft.",
            valueName: "LIST"))
    var layers: String?

    @Flag(
        name: .customLong("plain-rows"),
        help:
            "Store Q8_0/Q4_0/Q4_K/Q5_0/Q6_K matrices row after row (ggml's layout) instead of eight rows interleaved (Q8_0_R8/Q4_0_R8/Q4_K_R8/Q5_0_R8/Q6_K_R8, the engine's fast layout)."
    )
    var plainRows = false

    @Option(
        name: .customLong("output-type"),
        help: ArgumentHelp(
            "The output head's type (or the tied embedding's, when it serves as the head); default as llama.cpp chooses: Q6_K for the 4-bit types, Q8_0 where its rows are not a multiple of 256.",
            valueName: "TYPE"))
    var outputType: String?

    @Flag(
        help:
            "After converting, measure the result against an f32 conversion of the same source (hasskit eval, bundled text)."
    )
    var eval = false

    @Flag(help: "Replace OUT if it exists.")
    var force = false

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    @Flag(name: .shortAndLong, help: "Log each tensor to stderr.")
    var verbose = false

    func validate() throws {
        if let out, out.isEmpty { throw ValidationError("--out needs a file name (it was empty)") }
    }

    func run() throws {
        guard let t = ConversionType(rawValue: type.lowercased()) else {
            throw ValidationError(
                "unknown --type \(type); choose one of \(ConversionType.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        var output: ConversionType?
        if let outputType {
            guard let o = ConversionType(rawValue: outputType.lowercased()), o != .fp8 else {
                throw ValidationError("unknown --output-type \(outputType)")
            }
            output = o
        }
        if FileSystem.kind(of: source) == .missing, let pair = (try loadRegistry()).manifest(named: source) {
            try convertPair(pair, type: t)
            return
        }
        guard let out else { throw ValidationError("--out is required when converting a checkpoint path") }
        var options = Converter.Options(type: t, draftOf: draftOf, force: force, arguments: CommandLine.arguments)
        options.hashSources = true
        options.interleave = !plainRows
        options.outputType = output
        if let layers {
            options.layers = try parseLayers(layers)
        }
        let report: Converter.Report
        report = try Converter.convert(
            source: source, out: out, options: options, log: { if verbose { Console.log($0) } })
        var fidelity: (FidelityReport, tokens: Int, reference: String)?
        if eval && t != .f32 {
            // The reference: the same source in f32, beside the output, removed afterwards.
            let reference = out + ".eval-f32.hkw"
            defer { try? FileManager.default.removeItem(atPath: reference) }
            var f32 = Converter.Options(type: .f32, force: true)
            f32.hashSources = false
            _ = try Converter.convert(source: source, out: reference, options: f32)
            let (r, tokens) = try Eval.measure(
                model: out, reference: reference, text: nil, context: 256,
                threads: ProcessInfo.processInfo.activeProcessorCount)
            fidelity = (r, tokens, reference)
        }
        if json {
            var doc = report.json
            if let (r, tokens, reference) = fidelity, case var .object(members) = doc {
                members.append(("eval", Eval.json(r, model: out, reference: reference, tokens: tokens)))
                doc = .object(members)
            }
            Console.out(doc.serialized())
        } else {
            Console.out(
                """
                \(report.out): \(report.tensors) tensors, \(report.family.rawValue), \(report.type.rawValue)
                  \(formatBytes(report.bytesIn)) in, \(formatBytes(report.bytesOut)) out in \(String(format1: report.seconds)) s, peak memory \(formatBytes(report.peakRSS))
                  largest relative RMS error \(report.maxRelRMSE)\(report.shared.isEmpty ? "" : "\n  shared with the base: " + report.shared.joined(separator: ", "))
                """)
            if let (r, tokens, _) = fidelity {
                Console.out(Eval.render(r, model: out, reference: "its f32 conversion", tokens: tokens))
            }
        }
    }
}

extension Convert {
    /// Converts both members of a pulled pair into the store (`PairWorkspace.convert`).
    func convertPair(_ pair: Manifest, type: ConversionType) throws {
        let workspace = PairWorkspace(
            manifest: pair, client: HubClient(environment: HubEnvironment.fromProcess()), folder: out)
        var options = Converter.Options(type: type, force: force, arguments: CommandLine.arguments)
        options.interleave = !plainRows
        let result = try workspace.convert(type: type, options: options, log: { if verbose { Console.log($0) } })
        if json {
            Console.out(
                JSONValue.object([("pair", .string(pair.id)), ("base", result.base.json), ("draft", result.draft.json)])
                    .serialized())
        } else {
            for r in [result.base, result.draft] {
                Console.out(
                    "\(r.out): \(r.tensors) tensors, \(r.family.rawValue), \(r.type.rawValue), \(formatBytes(r.bytesOut))"
                )
            }
        }
    }

    /// `mtp` means the layers after `num_hidden_layers` (read from the source's config.json).
    func parseLayers(_ text: String) throws -> [Int] {
        if text == "mtp" {
            let configPath = FileSystem.join(source, "config.json")
            guard let bytes = try? FileSystem.readFile(configPath), let config = try? JSONParser().parse(bytes),
                let total = config["num_hidden_layers"]?.intValue,
                let nextn = config["num_nextn_predict_layers"]?.intValue, nextn > 0
            else {
                throw ValidationError(
                    "--layers mtp needs a config.json with num_hidden_layers and num_nextn_predict_layers > 0")
            }
            return Array(total..<(total + nextn))
        }
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else {
            throw ValidationError("--layers takes layer numbers separated by commas, or mtp")
        }
        return parts.compactMap { $0 }
    }
}

extension String {
    init(format1 v: Double) {
        self = String(Int((v * 100).rounded())).inserting(".", atFromEnd: 2)
    }
}
