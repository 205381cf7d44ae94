import ArgumentParser
import Checkpoints
import Foundation
import Platform
import StrictJSON
import WeightFormat

/// `hasskit bench …`: measurements run by hand, each against a baseline taken in the same run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (each reports a ratio against a baseline measured in the same run).",
        subcommands: [BenchRead.self]
    )
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

    @Argument(help: "A checkpoint file or folder, or a .hkw file.")
    var path: String

    @Option(help: "Timed pairs of runs.")
    var `repeat` = 5

    @Option(name: .customLong("via-hkw"), help: ArgumentHelp(
        "First copy the checkpoint unchanged to FOLDER/bench.hkw, then measure reading that file.",
        valueName: "FOLDER"))
    var hkwFolder: String?

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        var path = self.path
        if let hkwFolder {
            let target = FileSystem.join(hkwFolder, "bench.hkw")
            do {
                try HKWCopy.write(try Checkpoint.open(path), to: target, metadata: .object([("source", .string(path))]))
            } catch {
                throw fail(error)
            }
            path = target
        }
        let rssBefore = FileSystem.residentMemory()
        let views: [ByteView]
        let files: [String]
        do {
            if InspectReport.isHKW(path) {
                let f = try HKWFile(path: path)
                views = f.tensors.map(\.data)
                files = [path]
            } else {
                let c = try Checkpoint.open(path)
                views = c.tensors.map { $0.contiguousData() }
                files = c.files
            }
        } catch {
            throw fail(error)
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
            ("first_pass_ratio_vs_cat_median", .double(((Double(bytes) / firstPass) / (Double(fileBytes) / median(catTimes)) * 1000).rounded() / 1000)),
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
