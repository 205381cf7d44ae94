import ArgumentParser
import Checkpoints
import Checks
import Foundation
import Inference
import Platform
import Quantization
import StrictJSON
import Conversion
import WeightFormat

/// `hasskit bench …`: measurements run by hand, each against a baseline taken in the same run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (each reports a ratio against a baseline measured in the same run).",
        subcommands: [BenchModel.self, BenchRead.self],
        defaultSubcommand: BenchModel.self
    )
}

/// `hasskit bench MODEL.hkw`: llama-bench's table for our engine, with this machine's bounds.
struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract:
            "Prefill and decode tokens/s of a converted model, each against the bound this machine sets, measured in the same run.",
        discussion: """
            Like llama-bench: `pp N` times one prefill pass over N tokens, `tg N` times N greedy decoding \
            steps; each test runs --repetitions times per thread count and reports mean ± standard \
            deviation. Next to each, the bound measured in the same run: for decoding, the weight bytes \
            a step reads ÷ the rate these threads stream those same mapped bytes with no arithmetic (the \
            memory-bandwidth bound); for prefill, the model's multiply-adds per token ÷ the rate these \
            threads retire them at (the arithmetic bound): through the 8-bit kernels' product \
            instruction (vpdpbusd, or maddubs and madd) where the products take 8-bit activations, else \
            through `cblas_sgemm` on the model's largest shape split the same way. `hasskit bench \
            MODEL.hkw` runs this command.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A converted base model (.hkw).")
    var model: String

    @Option(name: [.short, .customLong("prompt-tokens")], help: "Prefill test size(s), comma-separated (0 skips).")
    var promptTokens = "128"

    @Option(
        name: [.customShort("n"), .customLong("gen-tokens")], help: "Decode test size(s), comma-separated (0 skips).")
    var genTokens = "64"

    @Option(name: [.short, .customLong("threads")], help: "Thread counts, comma-separated (default: 1 and all cores).")
    var threads: String?

    @Option(help: "What quantized products multiply: int8 (default) or f32.")
    var activations: Activations = .default

    @Option(name: [.short, .customLong("repetitions")], help: "Runs of each test (after one warm-up).")
    var repetitions = 3

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    static func list(_ text: String, _ name: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? -1) >= 0 }) else {
            throw ValidationError("\(name) takes numbers separated by commas")
        }
        return values.compactMap { $0 }
    }

    func run() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threadCounts = try threads.map { try Self.list($0, "--threads") } ?? Array(Set([1, cores])).sorted()
        guard threadCounts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--threads must be positive") }
        let pp = try Self.list(promptTokens, "--prompt-tokens").filter { $0 > 0 }
        let tg = try Self.list(genTokens, "--gen-tokens").filter { $0 > 0 }
        let m = try LlamaModel(path: model, threads: 1, activations: activations)
        let bytesPerToken = EngineBench.weightBytesPerToken(m)
        let flopsPerToken = EngineBench.flopsPerToken(m)
        let params = EngineBench.parameters(m)
        let type = EngineBench.mainType(m)
        // Prefill's arithmetic roof: the 8-bit kernels' instruction where the products take 8-bit
        // activations, else cblas_sgemm.
        let mainType = QuantType(rawValue: type) ?? .f32
        let int8 = m.decodeMatrices.contains { $0.type == mainType && $0.takesInt8Activations }
        let name = URL(fileURLWithPath: model).lastPathComponent
        var rows: [JSONValue] = []
        // The path the model's main storage type takes, and the extensions the kernels see.
        let path = QuantType(rawValue: type).map(Kernels.path(for:)) ?? "reference"
        let features = Kernels.cpuFeatures.joined(separator: " ")
        var lines = [
            "kernels: \(path) (dispatching on: \(features.isEmpty ? "no extensions" : features))",
            "model                      weights/token  params   type   threads  test       t/s             bound t/s        of bound",
            String(repeating: "-", count: 116),
        ]
        for t in threadCounts {
            m.threads = t
            let bandwidth = EngineBench.weightReadBandwidth(m, threads: t)
            for (test, n) in pp.map({ ("pp", $0) }) + tg.map({ ("tg", $0) }) {
                let measure = { test == "pp" ? EngineBench.prefill(m, tokens: n) : EngineBench.decode(m, tokens: n) }
                _ = measure()
                let samples = (0..<max(1, repetitions)).map { _ in measure() }
                let mean = samples.reduce(0, +) / Double(samples.count)
                let sd = (samples.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, samples.count - 1)))
                    .squareRoot()
                // The paths this test's products of the main type take: a single input may take
                // another, by thread count and by the matrix's columns (`Kernels.q8Path`).
                let rowPath = m.decodeMatrices.filter { $0.type == mainType }.reduce(into: [String]()) { names, w in
                    let name = Kernels.q8Path(mainType, cols: w.cols, inputs: test == "pp" ? n : 1, threads: t).name
                    if !names.contains(name) { names.append(name) }
                }.joined(separator: " + ")
                let boundKind: String, bound: Double, rate: Double
                if test == "pp", int8, let macs = MachineProbe.int8MultiplyAddRate(for: mainType, threads: t) {
                    rate = macs
                    bound = macs / (flopsPerToken / 2)
                    boundKind = "int8"
                } else if test == "pp" {
                    rate = MachineProbe.sgemmFLOPS(m: n, n: m.config.intermediate, k: m.config.hidden, threads: t)
                    bound = rate / flopsPerToken
                    boundKind = "sgemm"
                } else {
                    rate = bandwidth
                    bound = bandwidth / Double(bytesPerToken)
                    boundKind = "memory"
                }
                rows.append(
                    .object([
                        ("model", .string(model)), ("type", .string(type)), ("parameters", .int(params)),
                        ("weight_bytes_per_token", .int(bytesPerToken)), ("threads", .int(t)),
                        ("test", .string("\(test)\(n)")),
                        ("tokens_per_second", .double(Check.rounded(mean, 2))),
                        ("stddev", .double(Check.rounded(sd, 2))),
                        ("samples", .array(samples.map { .double(Check.rounded($0, 2)) })),
                        ("bound", .string(boundKind)), ("bound_tokens_per_second", .double(Check.rounded(bound, 2))),
                        (
                            boundKind == "memory"
                                ? "read_bytes_per_second"
                                : boundKind == "int8" ? "int8_multiply_adds_per_second" : "sgemm_flops",
                            .double(rate.rounded())
                        ),
                        ("fraction_of_bound", .double(Check.rounded(mean / bound, 3))),
                        ("kernels", .string(rowPath)), ("cpu_features", .string(features)),
                    ]))
                let boundText =
                    boundKind == "memory"
                    ? String(format: "%.1f (%.1f GB/s)", bound, rate / 1e9)
                    : boundKind == "int8"
                        ? String(format: "%.1f (%.0f G int8 MAC/s)", bound, rate / 1e9)
                        : String(format: "%.1f (%.0f GFLOP/s)", bound, rate / 1e9)
                lines.append(
                    "\(name.padding(26)) \(formatBytes(UInt64(bytesPerToken)).padding(14)) \((params >= 1_000_000_000 ? String(format: "%.2f B", Double(params) / 1e9) : String(format: "%.1f M", Double(params) / 1e6)).padding(8)) \(type.padding(6)) \(String(t).padding(8)) \("\(test)\(n)".padding(10)) \(String(format: "%.2f ± %.2f", mean, sd).padding(15)) \(boundText.padding(24)) \(String(format: "%.2f", mean / bound))\(rowPath == path ? "" : "  (kernels: \(rowPath))")"
                )
            }
        }
        Console.out(json ? JSONValue.array(rows).serialized() : lines.joined(separator: "\n"))
    }
}

/// `hasskit bench read PATH`: reading every tensor's bytes through hasskit's reader vs `cat`.
struct BenchRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Time reading every tensor's bytes through the reader against `cat FILES >/dev/null`.",
        discussion: """
            Runs `cat` and the reader alternately on the same files (--repeat pairs, after one warm-up of \
            each) and reports the median time of each and the median of the per-pair ratios (reader \
            throughput / cat throughput). The reader's warm-up is the first pass through a fresh mapping, \
            so it also pays the page faults; it is reported separately against the median cat time. Resident \
            memory before and after opening shows that opening maps without copying.
            """
    )

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A checkpoint file or folder, or a .hkw file.")
    var path: String

    @Option(help: "Timed pairs of runs.")
    var `repeat` = 5

    @Option(
        name: .customLong("via-hkw"),
        help: ArgumentHelp(
            "First copy the checkpoint unchanged to FOLDER/bench.hkw, then measure reading that file.",
            valueName: "FOLDER"))
    var hkwFolder: String?

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        var path = self.path
        if let hkwFolder {
            let target = FileSystem.join(hkwFolder, "bench.hkw")
            try HKWCopy.write(try Checkpoint.open(path), to: target, metadata: .object([("source", .string(path))]))
            path = target
        }
        let rssBefore = FileSystem.residentMemory()
        let views: [ByteView]
        let files: [String]
        if InspectReport.isHKW(path) {
            let f = try HKWFile(path: path)
            views = f.tensors.map(\.data)
            files = [path]
        } else {
            let c = try Checkpoint.open(path)
            views = c.tensors.map { $0.contiguousData() }
            files = c.files
        }
        let rssAfterOpen = FileSystem.residentMemory()
        let bytes = views.reduce(0) { $0 + UInt64($1.count) }
        let fileBytes = files.reduce(UInt64(0)) { $0 + ((try? FileSystem.size(of: $1)) ?? 0) }

        func timeReader() -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            var sink: UInt64 = 0
            for v in views { sink &+= v.touchAllBytes() }
            let end = DispatchTime.now().uptimeNanoseconds
            if sink == 42 { Console.log("") }  // keeps `sink` observable
            return Double(end - start) / 1e9
        }
        func timeCat() throws -> Double {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/cat")
            p.arguments = files
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            let start = DispatchTime.now().uptimeNanoseconds
            try p.run()
            p.waitUntilExit()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        _ = try timeCat()
        // The first pass through a fresh mapping pays the page faults; later passes reuse it.
        let firstPass = timeReader()
        let rssAfterTouch = FileSystem.residentMemory()
        var catTimes: [Double] = []
        var readerTimes: [Double] = []
        var ratios: [Double] = []
        for _ in 0..<max(1, self.repeat) {
            let c = try timeCat()
            let r = timeReader()
            catTimes.append(c)
            readerTimes.append(r)
            // Throughput ratio: reader bytes/s over cat bytes/s.
            ratios.append((Double(bytes) / r) / (Double(fileBytes) / c))
        }
        func median(_ xs: [Double]) -> Double {
            let s = xs.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let result: JSONValue = .object([
            ("path", .string(path)),
            ("tensor_bytes", .int(bytes)),
            ("file_bytes", .int(fileBytes)),
            ("pairs", .int(catTimes.count)),
            ("cat_seconds_median", .double(median(catTimes))),
            ("reader_seconds_median", .double(median(readerTimes))),
            ("cat_mb_per_second", .double((Double(fileBytes) / median(catTimes) / 1e6).rounded())),
            ("reader_mb_per_second", .double((Double(bytes) / median(readerTimes) / 1e6).rounded())),
            ("throughput_ratio_median", .double((median(ratios) * 1000).rounded() / 1000)),
            ("reader_first_pass_seconds", .double(firstPass)),
            (
                "first_pass_ratio_vs_cat_median",
                .double(((Double(bytes) / firstPass) / (Double(fileBytes) / median(catTimes)) * 1000).rounded() / 1000)
            ),
            ("rss_before_open", .int(rssBefore)),
            ("rss_after_open", .int(rssAfterOpen)),
            ("rss_after_reading_all", .int(rssAfterTouch)),
        ])
        if json {
            Console.out(result.serialized())
        } else {
            Console.out(result.serialized(pretty: true))
        }
    }
}
