import Foundation
import LoopbackHub
import StrictJSON
import Testing
import TestSupport

/// `check --server` against loopback imitations of SGLang's and vLLM's APIs: the bundled-style
/// prompts through the base's tokenizer, greedy, compared token by token with a plain run
/// (hasskit's own engine, or a second server), τ from each engine's own counters.
@Suite struct ServerCheckTests {
    /// The demo base converted, and two prompts.
    static func setUp() throws -> (dir: String, base: String, prompts: String) {
        let dir = Fixtures.temporaryDirectory("hasskit-server")
        let base = dir + "/b.hkw"
        let c = try InspectCommandTests.run([
            "convert", Fixtures.path("demo-pair/base"), "--out", base, "--type", "q8_0",
        ])
        #expect(c.status == 0, "\(c.stderr)")
        try Data("What is the capital of France?\ndef add(a, b):\n".utf8).write(
            to: URL(fileURLWithPath: dir + "/prompts.txt"))
        return (dir, base, dir + "/prompts.txt")
    }

    /// hasskit's own greedy continuation, as a server running this base would give it.
    static func engineAnswer(base: String) -> @Sendable ([Int], Int) -> [Int] {
        { ids, n in
            let r = try? InspectCommandTests.run([
                "run", base, "--prompt-ids", ids.map(String.init).joined(separator: ","), "--max-tokens", String(n),
                "--json",
            ])
            let doc = r.flatMap { try? JSONParser().parse($0.stdout) }
            return doc?["output_ids"]?.arrayValue?.compactMap(\.intValue) ?? []
        }
    }

    @Test func sglangAgainstHasskitsOwnEngine() throws {
        let (dir, base, prompts) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sglang = try LoopbackEngine(.sglang, tokensPerVerify: 2.5, answer: Self.engineAnswer(base: base))
        defer { sglang.stop() }
        let r = try InspectCommandTests.run([
            "check", "--server", sglang.url, "--engine", "sglang", "--base", base, "--prompts", prompts,
            "--max-tokens", "10", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONParser().parse(r.stdout)
        #expect(doc["identical"]?.boolValue == true && doc["prompts"]?.intValue == 2, "\(r.stdout)")
        // 10 tokens in ceil(10 / 2.5) = 4 verification passes per prompt.
        #expect(doc["acceptance_length"]?.doubleValue == 2.5, "\(r.stdout)")
        #expect(doc["engine"]?.stringValue == "sglang" && (doc["speculative_tokens_per_second"]?.doubleValue ?? 0) > 0)
    }

    @Test func vllmAgainstAPlainServerAndAWrongAnswerFails() throws {
        let (dir, base, prompts) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let answer: @Sendable ([Int], Int) -> [Int] = { ids, n in (0..<n).map { (ids.reduce(0, +) + 7 * $0) % 1000 + 3 }
        }
        let spec = try LoopbackEngine(.vllm, tokensPerVerify: 4, answer: answer)
        let plain = try LoopbackEngine(.vllm, answer: answer)
        defer {
            spec.stop()
            plain.stop()
        }
        let args = [
            "check", "--engine", "vllm", "--plain-server", plain.url, "--base", base, "--prompts", prompts,
            "--max-tokens", "12", "--json",
        ]
        let good = try InspectCommandTests.run(args + ["--server", spec.url])
        #expect(good.status == 0, "\(good.stderr)")
        let doc = try JSONParser().parse(good.stdout)
        #expect(doc["identical"]?.boolValue == true, "\(good.stdout)")
        // Per prompt 3 drafts and 9 accepted tokens: τ = 1 + 9 / 3.
        #expect(doc["acceptance_length"]?.doubleValue == 4, "\(good.stdout)")

        // A server that answers differently from the fourth token on fails the check (exit 1).
        let wrong = try LoopbackEngine(.vllm, tokensPerVerify: 4) { ids, n in
            answer(ids, n).enumerated().map { $0.offset >= 3 ? $0.element + 1 : $0.element }
        }
        defer { wrong.stop() }
        let bad = try InspectCommandTests.run(args + ["--server", wrong.url])
        #expect(bad.status == 1, "\(bad.stderr)")
        let badDoc = try JSONParser().parse(bad.stdout)
        #expect(badDoc["first_differences"]?.arrayValue?.compactMap(\.intValue) == [3, 3], "\(bad.stdout)")
    }
}
