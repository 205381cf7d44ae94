import ArgumentParser
import Foundation
import StrictJSON
import WeightFormat

/// `hasskit pack FILE.hkw`: one zstd stream, with 16/32-bit tensors split into byte planes.
struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Compress a .hkw file with zstd (byte planes for f32/f16/bf16 tensors); unpack restores it bit for bit."
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "The .hkw file.")
    var path: String

    @Option(name: .shortAndLong, help: "Output file (default: PATH.zst).")
    var out: String?

    @Option(help: "zstd level, 1–19.")
    var level = 9

    @Option(help: "Compression threads (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Replace the output if it exists.")
    var force = false

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be between 1 and 19") }
    }

    func run() throws {
        let report: HKWArchive.Report
        report = try HKWArchive.pack(
            path: path, out: out ?? path + ".zst", level: level, threads: threads, force: force)
        printArchiveReport(report, json: json, verb: "packed")
    }
}

/// `hasskit unpack FILE.hkw.zst`.
struct Unpack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Restore a .hkw file from `hasskit pack` output, checking its SHA-256 and structure before it appears."
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "The packed file (.hkw.zst).")
    var path: String

    @Option(name: .shortAndLong, help: "Output file (default: PATH without .zst).")
    var out: String?

    @Flag(help: "Replace the output if it exists.")
    var force = false

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let target = out ?? (path.hasSuffix(".zst") ? String(path.dropLast(4)) : path + ".hkw")
        let report: HKWArchive.Report
        report = try HKWArchive.unpack(path: path, out: target, force: force)
        printArchiveReport(report, json: json, verb: "unpacked")
    }
}

func printArchiveReport(_ r: HKWArchive.Report, json: Bool, verb: String) {
    if json {
        Console.out(
            JSONValue.object([
                ("input", .string(r.input)), ("output", .string(r.output)), ("bytes_in", .int(r.bytesIn)),
                ("bytes_out", .int(r.bytesOut)), ("ratio", .double((r.ratio * 1000).rounded() / 1000)),
                ("seconds", .double((r.seconds * 1000).rounded() / 1000)), ("threads", .int(r.threads)),
            ]).serialized())
    } else {
        Console.out(
            "\(r.output): \(verb) \(formatBytes(r.bytesIn)) → \(formatBytes(r.bytesOut)), ratio \(String(format: "%.3f", r.ratio)) in \(String(format: "%.2f", r.seconds)) s"
        )
    }
}
