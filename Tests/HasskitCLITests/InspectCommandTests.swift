import Foundation
import StrictJSON
import Testing
import TestSupport

/// End-to-end runs of the built `hasskit` binary: stdout, stderr and exit codes as users see them.
@Suite struct InspectCommandTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var signaled: Bool
    }

    /// The `hasskit` executable next to the test bundle (SwiftPM builds it with the tests).
    static let binary: String = {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [
            bundleDir.appendingPathComponent("hasskit").path,
            bundleDir.deletingLastPathComponent().appendingPathComponent("hasskit").path,
            Fixtures.root + "/../../.build/debug/hasskit",
        ]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return Fixtures.root + "/../../.build/debug/hasskit"
    }()

    /// Runs the binary with `arguments`, the environment extended by `env`.
    static func run(_ arguments: [String], env: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        if !env.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 } }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self), signaled: p.terminationReason == .uncaughtSignal)
    }

    @Test func jsonMatchesTheReferenceInventory() throws {
        let inventory = try #require(try Fixtures.json("inventory.json")["checkpoints"]?.objectMembers)
        for (relative, expected) in inventory {
            let r = try Self.run(["inspect", Fixtures.path(relative), "--json"])
            #expect(r.status == 0, "\(relative): \(r.stderr)")
            let doc = try JSONParser().parse(r.stdout)
            let rows = try #require(doc["tensors"]?.arrayValue)
            let want = try #require(expected.arrayValue)
            #expect(rows.map { $0["name"]?.stringValue } == want.map { $0["name"]?.stringValue }, "\(relative)")
            #expect(rows.map { $0["dtype"]?.stringValue } == want.map { $0["dtype"]?.stringValue }, "\(relative)")
            #expect(rows.map { $0["shape"] } == want.map { $0["shape"] }, "\(relative)")
            let params = want.reduce(UInt64(0)) { acc, t in
                acc + (t["shape"]?.arrayValue ?? []).reduce(UInt64(1)) { $0 * ($1.uint64Value ?? 0) }
            }
            #expect(doc["parameters"]?.uint64Value == params, "\(relative)")
            #expect(doc["metadata"]?.objectMembers != nil)
        }
    }

    @Test func formatsAreNamed() throws {
        let cases = [
            "llama3": "safetensors", "llama2": "pytorch-zip", "draft_llama2_legacy": "pytorch-legacy",
            "qwen2/model.safetensors": "safetensors", "llama3/model.safetensors.index.json": "safetensors",
        ]
        for (path, format) in cases {
            let r = try Self.run(["inspect", Fixtures.path(path), "--json"])
            #expect(try JSONParser().parse(r.stdout)["format"]?.stringValue == format, "\(path)")
        }
    }

    @Test func everyRejectedFileExitsCleanlyWithOneLine() throws {
        let expectations = try #require(try Fixtures.json("hostile/expectations.json")["files"]?.arrayValue)
        for f in expectations {
            let file = try #require(f["file"]?.stringValue)
            let r = try Self.run(["inspect", Fixtures.path("hostile/" + file), "--json"])
            #expect(!r.signaled, "\(file) killed hasskit by a signal")
            if f["expect"]?.stringValue == "reject" {
                #expect(r.status == 65, "\(file)")
                #expect(r.stdout.isEmpty, "\(file)")
                let lines = r.stderr.split(separator: "\n")
                #expect(lines.count == 1, "\(file): \(r.stderr)")
                let named = file.hasSuffix("/") ? String(file.dropLast()) : file
                #expect(r.stderr.contains(named), "\(file): \(r.stderr)")
            } else if f["expect"]?.stringValue == "accept" {
                #expect(r.status == 0, "\(file): \(r.stderr)")
            } else {
                // accept-or-reject: the binary must decide as the library does, one way or the other.
                let loads = (try? Checkpoint.open(Fixtures.path("hostile/" + file))) != nil
                #expect(
                    r.status == (loads ? 0 : 65),
                    "\(file): the library \(loads ? "loads" : "refuses") it, inspect exited \(r.status)")
            }
        }
    }

    @Test func missingPathIsNotFound() throws {
        let r = try Self.run(["inspect", "/nonexistent/model.safetensors"])
        #expect(r.status == 66)
        #expect(r.stderr.contains("/nonexistent/model.safetensors"))
    }

    @Test func humanTableListsEveryTensor() throws {
        let r = try Self.run(["inspect", Fixtures.path("draft_qwen2")])
        #expect(r.status == 0)
        #expect(r.stdout.contains("pytorch-zip"))
        #expect(r.stdout.contains("fc.bias"))
        #expect(r.stdout.contains("NAME"))
    }

    @Test func usageErrorsExitWith64() throws {
        let r = try Self.run(["inspect"])
        #expect(r.status == 64)
    }
}

import Checkpoints
import Conversion
import WeightFormat

extension InspectCommandTests {
    @Test func hkwFilesInspectLikeTheirSource() throws {
        let dir = Fixtures.temporaryDirectory()
        let source = try Checkpoint.open(Fixtures.path("qwen2"))
        try HKWCopy.write(source, to: dir + "/qwen2.hkw", metadata: .object([("architecture", .string("qwen2"))]))
        let r = try Self.run(["inspect", dir + "/qwen2.hkw", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONParser().parse(r.stdout)
        #expect(doc["format"]?.stringValue == "hkw")
        #expect(doc["metadata"]?["architecture"]?.stringValue == "qwen2")
        #expect(doc["metadata"]?["content_hash"]?.stringValue?.count == 64)
        let original = try JSONParser().parse(try Self.run(["inspect", Fixtures.path("qwen2"), "--json"]).stdout)
        #expect(doc["tensors"] == original["tensors"])
        #expect(doc["bytes"] == original["bytes"])

        // A truncated copy is refused with one line.
        var bytes = try Platform.FileSystem.readFile(dir + "/qwen2.hkw")
        bytes.removeLast(100)
        let w = try Platform.AtomicFileWriter(path: dir + "/cut.hkw")
        try w.write(bytes)
        try w.commit()
        let cut = try Self.run(["inspect", dir + "/cut.hkw"])
        #expect(cut.status == 65)
        #expect(cut.stderr.contains("cut.hkw"))
    }
}

import Platform

extension InspectCommandTests {
    @Test func runGeneratesTheReferenceContinuation() throws {
        let dir = Fixtures.temporaryDirectory()
        let convert = try Self.run(["convert", Fixtures.path("qwen2"), "--out", dir + "/q.hkw", "--type", "f32"])
        #expect(convert.status == 0, "\(convert.stderr)")
        let ref = try #require(try Fixtures.json("refs/qwen2.json")["prompts"]?.arrayValue?.first)
        let ids = try ref.ints("input_ids")
        let greedy = try ref.ints("greedy16")
        let r = try Self.run([
            "run", dir + "/q.hkw", "--prompt-ids", ids.map(String.init).joined(separator: ","),
            "--max-tokens", "16", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONParser().parse(r.stdout)
        #expect(doc["output_ids"]?.arrayValue?.compactMap(\.intValue) == greedy)
        #expect(doc["decode_tokens_per_second"]?.doubleValue ?? 0 > 0)
        #expect(try Self.run(["run", dir + "/q.hkw", "--prompt-ids", "1,x"]).status == 64)
    }
}

extension InspectCommandTests {
    @Test func runWithADraftHeadIsLossless() throws {
        let dir = Fixtures.temporaryDirectory()
        #expect(
            try Self.run(["convert", Fixtures.path("demo-pair/base"), "--out", dir + "/b.hkw", "--type", "f32"]).status
                == 0)
        #expect(
            try Self.run([
                "convert", Fixtures.path("demo-pair/draft"), "--out", dir + "/d.hkw", "--type", "f32",
                "--draft-of", dir + "/b.hkw",
            ]).status == 0)
        let prompt = try #require(try Fixtures.json("demo-pair/refs.json")["prompts"]?.arrayValue?.first)
        let ids = try prompt.ints("ids").map(String.init).joined(separator: ",")
        let plain = try JSONParser().parse(
            try Self.run(["run", dir + "/b.hkw", "--prompt-ids", ids, "--max-tokens", "24", "--json"]).stdout)
        let r = try Self.run([
            "run", dir + "/b.hkw", "--prompt-ids", ids, "--max-tokens", "24", "--json", "--draft", dir + "/d.hkw",
            "--top-k", "4", "--depth", "4", "--total-tokens", "16",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let spec = try JSONParser().parse(r.stdout)
        #expect(spec["output_ids"] == plain["output_ids"])
        #expect(spec["acceptance_length"]?.doubleValue ?? 0 > 3)
        #expect(spec["base_forward_passes"]?.intValue ?? 0 < 24)
        // Timed as plain decoding is, from the first token; tokens_per_second keeps the prompt pass.
        let decode = spec["decode_tokens_per_second"]?.doubleValue ?? 0
        let prefill = spec["prefill_tokens_per_second"]?.doubleValue ?? 0
        #expect(decode > 0 && prefill > 0 && prefill < 1e7, "the prompt pass was timed: \(prefill) tok/s")
        #expect((spec["tokens_per_second"]?.doubleValue ?? .infinity) < decode)
    }

    /// A prompt plus --max-tokens past the model's trained positions (1024 here) is refused up
    /// front with the numbers, unless --past-context; an id outside the vocabulary is refused;
    /// --threads above the cores runs capped, with a note.
    @Test func runRefusesWhatTheModelCannotTake() throws {
        let dir = Fixtures.temporaryDirectory()
        let base = dir + "/b.hkw"
        #expect(
            try Self.run(["convert", Fixtures.path("demo-pair/base"), "--out", base, "--type", "q8_0"]).status == 0)
        let long = (0..<1020).map { String($0 % 500 + 3) }.joined(separator: ",")
        let refused = try Self.run(["run", base, "--prompt-ids", long, "--max-tokens", "8"])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("1020") && refused.stderr.contains("1028") && refused.stderr.contains("1024")
                && refused.stderr.contains("--past-context"), "\(refused.stderr)")
        let allowed = try Self.run(["run", base, "--prompt-ids", long, "--max-tokens", "8", "--past-context", "--json"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(try JSONParser().parse(allowed.stdout)["output_ids"]?.arrayValue?.count == 8)
        let outside = try Self.run(["run", base, "--prompt-ids", "1,99999", "--max-tokens", "2"])
        #expect(outside.status == 64 && outside.stderr.contains("99999"), "\(outside.stderr)")
        let capped = try Self.run(["run", base, "--prompt-ids", "1,2", "--max-tokens", "2", "--threads", "4096"])
        #expect(capped.status == 0 && capped.stderr.contains("--threads 4096"), "\(capped.stderr)")
    }
}

extension InspectCommandTests {
    @Test func runTakesTextWithTheModelsTokenizer() throws {
        let dir = Fixtures.temporaryDirectory()
        #expect(
            try Self.run(["convert", Fixtures.path("demo-pair/base"), "--out", dir + "/b.hkw", "--type", "q8_0"]).status
                == 0)
        let prompt = try #require(try Fixtures.json("demo-pair/refs.json")["prompts"]?.arrayValue?.first)
        let text = try #require(prompt["text"]?.stringValue)
        let r = try Self.run(["run", dir + "/b.hkw", "--prompt", text, "--max-tokens", "12", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONParser().parse(r.stdout)
        #expect(doc["prompt_ids"]?.arrayValue?.compactMap(\.intValue) == (try prompt.ints("ids")))
        #expect(doc["text"]?.stringValue?.isEmpty == false)
        let plain = try Self.run(["run", dir + "/b.hkw", "--prompt", text, "--max-tokens", "12"])
        #expect(plain.stdout == (doc["text"]?.stringValue ?? "") + "\n")
        #expect(try Self.run(["run", Fixtures.path("../Fixtures/llama3/config.json"), "--prompt", "x"]).status != 0)

        // --chat: the prompt goes through the chat format detected from tokenizer_config.json;
        // the rendered text (jinja2's, refs/chat_demo.json) starts with the BOS text itself.
        let rendered = try #require(
            try Fixtures.json("refs/chat_demo.json")["cases"]?.arrayValue?.first?["text"]?.stringValue)
        let chat = try Self.run(["run", dir + "/b.hkw", "--prompt", "x = 1", "--chat", "--max-tokens", "4", "--json"])
        #expect(chat.status == 0, "\(chat.stderr)")
        let raw = try Self.run(["run", dir + "/b.hkw", "--prompt", rendered, "--max-tokens", "4", "--json"])
        let chatIds = try JSONParser().parse(chat.stdout)["prompt_ids"]?.arrayValue?.compactMap(\.intValue) ?? []
        let rawIds = try JSONParser().parse(raw.stdout)["prompt_ids"]?.arrayValue?.compactMap(\.intValue) ?? []
        #expect(!chatIds.isEmpty && [rawIds[0]] + chatIds == rawIds)
        #expect(chatIds.filter { $0 == rawIds[0] }.count == 1)
        #expect(try Self.run(["run", dir + "/b.hkw", "--prompt-ids", "1", "--chat"]).status == 64)
    }
}

extension InspectCommandTests {
    /// `hasskit check`: the trained demo pair decodes identically both ways, with τ well above 1;
    /// a head made for another base is refused with exit 78 and a sentence naming the mismatch.
    @Test func checkProvesTheDemoPairLossless() throws {
        let dir = Fixtures.temporaryDirectory()
        #expect(
            try Self.run(["convert", Fixtures.path("demo-pair/base"), "--out", dir + "/b.hkw", "--type", "q8_0"]).status
                == 0)
        #expect(
            try Self.run([
                "convert", Fixtures.path("demo-pair/draft"), "--out", dir + "/d.hkw", "--type", "q8_0", "--draft-of",
                dir + "/b.hkw",
            ]).status == 0)
        let prompts = try #require(try Fixtures.json("demo-pair/refs.json")["prompts"]?.arrayValue).prefix(2)
        // One line per prompt: the first line of each reference prompt.
        try Data(
            prompts.compactMap { $0["text"]?.stringValue?.split(separator: "\n").first.map { $0 + "\n" } }.joined().utf8
        )
        .write(to: URL(fileURLWithPath: dir + "/prompts.txt"))
        let r = try Self.run([
            "check", "--base", dir + "/b.hkw", "--draft", dir + "/d.hkw", "--prompts", dir + "/prompts.txt",
            "--max-tokens", "24", "--top-k", "4", "--depth", "4", "--total-tokens", "16", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONParser().parse(r.stdout)
        #expect(doc["identical"]?.boolValue == true)
        #expect(doc["prompts"]?.intValue == 2)
        #expect((doc["accept_rate_by_depth"]?.arrayValue?.count ?? 0) == 5)
        let tau = try #require(doc["acceptance_length"]?.doubleValue)
        #expect(tau > 2 && tau <= 6)
        #expect(doc["speedup"] != nil && doc["vanilla_tokens_per_second"] != nil)
        // Sampled: outputs are not compared, τ is still reported.
        let sampled = try Self.run([
            "check", "--base", dir + "/b.hkw", "--draft", dir + "/d.hkw", "--prompts", dir + "/prompts.txt",
            "--max-tokens", "8", "--top-k", "4", "--depth", "4", "--total-tokens", "16", "--temperature", "1", "--json",
        ])
        #expect(sampled.status == 0, "\(sampled.stderr)")
        let sampledDoc = try JSONParser().parse(sampled.stdout)
        #expect(sampledDoc["identical"]?.isNull == true)
        #expect((sampledDoc["acceptance_length"]?.doubleValue ?? 0) >= 1)
        let unconverted = try PairFlowTests.run(
            ["check", "llama3-instruct-8b"], env: ["HASSKIT_HOME": dir + "/hasskit"])
        #expect(unconverted.status == 64 && unconverted.stderr.contains("not converted yet"), "\(unconverted.stderr)")

        #expect(
            try Self.run(["convert", Fixtures.path("llama3"), "--out", dir + "/l3.hkw", "--type", "f32"]).status == 0)
        #expect(
            try Self.run(["convert", Fixtures.path("draft_llama2"), "--out", dir + "/h2.hkw", "--type", "f32"]).status
                == 0)
        let bad = try Self.run([
            "check", "--base", dir + "/l3.hkw", "--draft", dir + "/h2.hkw", "--prompts", dir + "/prompts.txt",
        ])
        #expect(bad.status == 78)
        #expect(bad.stderr.contains("made for another base"), "\(bad.stderr)")

        // compat: the demo pair fits and its head agrees with the base most of the time; the
        // LLaMA-2 head on the LLaMA-3 base is refused, each mismatch named.
        let good = try Self.run(["compat", dir + "/b.hkw", dir + "/d.hkw", "--prompts", dir + "/prompts.txt", "--json"])
        #expect(good.status == 0, "\(good.stderr)")
        let report = try JSONParser().parse(good.stdout)
        #expect(report["compatible"]?.boolValue == true)
        let agreement = try #require(report["top1_agreement"]?.doubleValue)
        #expect(agreement > 0.3 && agreement <= 1)
        let converted = report["checks"]?.arrayValue?.first { $0["name"]?.stringValue == "converted against" }
        #expect(converted?["found"]?.stringValue == "this base")
        let mismatch = try Self.run(["compat", dir + "/l3.hkw", dir + "/h2.hkw", "--json"])
        #expect(mismatch.status == 78)
        let failed = try JSONParser().parse(mismatch.stdout)["checks"]?.arrayValue?.filter {
            $0["ok"]?.boolValue == false
        }.compactMap { $0["name"]?.stringValue }
        #expect(failed == ["hidden size", "vocabulary", "fc shape", "embedding", "rope theta"])
        let text = try Self.run(["compat", dir + "/l3.hkw", dir + "/h2.hkw"])
        #expect(text.stdout.contains("FAIL  hidden size         expected 128, found 96"), "\(text.stdout)")
    }
}

extension InspectCommandTests {
    /// A DeepSeek pair end to end through the binary: the FP8 checkpoint converted as FP8, its
    /// MTP layer extracted as the draft, and `check` proving speculative = plain greedy.
    @Test func checkRunsADeepSeekPairWithItsMTPDraft() throws {
        let dir = Fixtures.temporaryDirectory()
        #expect(
            try Self.run(["convert", Fixtures.path("deepseek_v3"), "--out", dir + "/b.hkw", "--type", "fp8"]).status
                == 0)
        #expect(
            try Self.run([
                "convert", Fixtures.path("deepseek_v3"), "--out", dir + "/mtp.hkw", "--type", "fp8", "--layers", "mtp",
            ]).status == 0)
        FileManager.default.createFile(
            atPath: dir + "/prompts.txt", contents: Data("The license says\ndef main():\n".utf8))
        let r = try Self.run([
            "check", "--base", dir + "/b.hkw", "--draft", dir + "/mtp.hkw", "--prompts", dir + "/prompts.txt",
            "--max-tokens", "8", "--top-k", "2", "--depth", "2", "--total-tokens", "5", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONParser().parse(r.stdout)
        #expect(doc["identical"]?.boolValue == true && doc["prompts"]?.intValue == 2)
    }
}

extension InspectCommandTests {
    /// `bench MODEL.hkw`: one row per thread count and test, each with its measured bound (no
    /// speed is asserted: this only checks the table is there and consistent).
    /// The demo base converted to `type`, and the rows of `bench --json` on it with `arguments`.
    static func benchRows(convertedTo type: String, _ arguments: [String]) throws -> (model: String, rows: [JSONValue])
    {
        let model = Fixtures.temporaryDirectory() + "/b.hkw"
        #expect(try run(["convert", Fixtures.path("demo-pair/base"), "--out", model, "--type", type]).status == 0)
        let r = try run(["bench", model] + arguments + ["-r", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        return (model, try #require(try JSONParser().parse(r.stdout).arrayValue))
    }

    @Test func benchReportsEachTestWithItsBound() throws {
        let (model, rows) = try Self.benchRows(convertedTo: "q8_0", ["-p", "8", "-n", "4", "-t", "1,2"])
        #expect(rows.map { $0["test"]?.stringValue ?? "" } == ["pp8", "tg4", "pp8", "tg4"])
        #expect(rows.map { $0["threads"]?.intValue ?? 0 } == [1, 1, 2, 2])
        for row in rows {
            // Prefill of an 8-bit-activation model is set against the kernels' own int8 instruction
            // (sgemm where they run the reference, under HASSKIT_KERNELS=reference).
            let int8 = row["kernels"]?.stringValue != "reference"
            let expected = row["test"]?.stringValue == "pp8" ? (int8 ? "int8" : "sgemm") : "memory"
            #expect(row["bound"]?.stringValue == expected)
            if row["bound"]?.stringValue == "int8" {
                #expect((row["int8_multiply_adds_per_second"]?.doubleValue ?? 0) > 1e9)
            }
            let tps = row["tokens_per_second"]?.doubleValue ?? 0,
                bound = row["bound_tokens_per_second"]?.doubleValue ?? 0
            #expect(tps > 0 && bound > 0)
            #expect(abs((row["fraction_of_bound"]?.doubleValue ?? 0) - tps / bound) < 0.01)
            #expect(row["type"]?.stringValue == "Q8_0_R8" && (row["weight_bytes_per_token"]?.intValue ?? 0) > 0)
            // The path the kernels took and the extensions they saw, named in every row.
            #expect(
                ["avx512-vnni", "avx-vnni", "avx-vnni (evex)", "avx2", "reference"].contains(
                    row["kernels"]?.stringValue ?? ""))
            #expect(row["cpu_features"]?.stringValue != nil)
        }
        let text = try Self.run(["bench", model, "-p", "8", "-n", "0", "-t", "1", "-r", "1"])
        #expect(text.stdout.hasPrefix("kernels: "), "\(text.stdout)")
    }

    /// Each row names the path its products took: on an AVX-512 CPU a K-quant model prefills
    /// through the 512-bit kernels and decodes through the 256-bit ones, on two threads too where
    /// its matrices have at most 2048 columns (the demo model's have 256; a row lists every path
    /// its matrices take, joined by " + ").
    @Test func benchNamesThePathOfEachTest() throws {
        let (_, rows) = try Self.benchRows(convertedTo: "q4_k", ["-p", "8", "-n", "2", "-t", "1,2"])
        let paths = rows.map { $0["kernels"]?.stringValue ?? "" }
        #expect(rows.first?["type"]?.stringValue == "Q4_K_R8")
        if paths.first == "avx512-vnni" {
            #expect(paths == ["avx512-vnni", "avx-vnni (evex)", "avx512-vnni", "avx-vnni (evex)"])
        } else {
            print("kernels \(paths.first ?? ""): every test takes that path (no AVX-512 here)")
            #expect(Set(paths).count == 1)
        }
    }
}

extension InspectCommandTests {
    /// `convert` stores 4-bit matrices row-interleaved unless `--plain-rows`; `run` decodes both
    /// files to the same greedy continuation (the same weights, summed in another order).
    @Test func convertInterleavesRowsUnlessAskedNotTo() throws {
        let dir = Fixtures.temporaryDirectory()
        for (name, extra) in [("r8", [String]()), ("plain", ["--plain-rows"])] {
            let r = try Self.run(
                // The output head at Q4_0 too (not llama.cpp's Q6_K), so every matrix has the type.
                [
                    "convert", Fixtures.path("demo-pair/base"), "--out", "\(dir)/\(name).hkw", "--type", "q4_0",
                    "--output-type", "q4_0",
                ]
                    + extra)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let types = try ["r8", "plain"].map { name in
            Set(
                try HKWFile(path: "\(dir)/\(name).hkw").tensors.filter { $0.shape.count == 2 }.compactMap {
                    $0.type?.rawValue
                })
        }
        #expect(types[0] == ["Q4_0", "Q4_0_R8"], "the embedding stays plain; every other matrix is interleaved")
        #expect(types[1] == ["Q4_0"])
        let outputs = try ["r8", "plain"].map { name in
            let r = try Self.run([
                "run", "\(dir)/\(name).hkw", "--prompt-ids", "1,2,3,4", "--max-tokens", "12", "--json",
            ])
            #expect(r.status == 0, "\(r.stderr)")
            return try JSONParser().parse(r.stdout)["output_ids"]?.arrayValue?.compactMap(\.intValue) ?? []
        }
        #expect(outputs[0].count == 12 && outputs[0] == outputs[1])
    }
}
