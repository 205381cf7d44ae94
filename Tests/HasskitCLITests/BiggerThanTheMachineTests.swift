import Foundation
import StrictJSON
import Testing
import TestSupport

/// Pairs bigger than this machine, as shape twins (real names, types and shapes; the data a
/// hole in a sparse file): `check` refuses the LLaMA-3-70B pair before touching a weight, with
/// the numbers, on a machine of this project's kind (24 GiB).
@Suite struct BiggerThanTheMachineTests {
    @Test func theSeventyBPairIsRefusedUpFrontWithTheNumbers() throws {
        let dir = Fixtures.temporaryDirectory("hasskit-twin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ShapeTwin.writeBase(.llama3_70B, to: dir + "/base.hkw")
        try ShapeTwin.writeHead(.llama3_70B, to: dir + "/head.hkw")
        let env = ["HASSKIT_MEMORY_BYTES": String(24 << 30)]
        let started = Date()
        let r = try InspectCommandTests.run(
            ["check", "--base", dir + "/base.hkw", "--draft", dir + "/head.hkw", "--max-tokens", "64"], env: env)
        #expect(r.status == 79, "\(r.stderr)")
        // 70.55 B BF16 parameters and the head's 0.99 B: 131.4 + 1.8 GiB of weights.
        #expect(r.stderr.contains("weights 133.3"), "\(r.stderr)")
        #expect(r.stderr.contains("24.0 GiB available of 24.0 GiB") && r.stderr.contains("export"), "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 30, "refused from the headers, not after reading weights")
        let run = try InspectCommandTests.run(
            ["run", dir + "/base.hkw", "--prompt-ids", "128000,9906", "--max-tokens", "8"], env: env)
        #expect(run.status == 79 && run.stderr.contains("weights 131.4"), "\(run.stderr)")
    }

    /// compat from checkpoints, without converting: the five published EAGLE-head pairs, as shape
    /// twins of their hub repositories (sharded BF16 safetensors with an index, the head in HASS's
    /// layout), fit in seconds from headers and configs alone; a LLaMA-2 head on the LLaMA-3-8B
    /// base is refused (78), each mismatch named.
    @Test func compatDecidesFromCheckpointsWithoutReadingWeights() throws {
        let dir = Fixtures.temporaryDirectory("hasskit-twin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (id, shape) in ShapeTwin.headPairs {
            try ShapeTwin.writeCheckpoint(shape, to: dir + "/\(id)/base")
            try ShapeTwin.writeHeadCheckpoint(shape, to: dir + "/\(id)/draft")
            let started = Date()
            let r = try InspectCommandTests.run(["compat", dir + "/\(id)/base", dir + "/\(id)/draft", "--json"])
            let seconds = Date().timeIntervalSince(started)
            #expect(r.status == 0, "\(id): \(r.stderr)")
            let doc = try JSONParser().parse(r.stdout)
            #expect(doc["compatible"]?.boolValue == true, "\(id): \(r.stdout)")
            #expect(doc["checks_run"]?.arrayValue?.compactMap(\.stringValue) == ["structural"], "\(id)")
            #expect(doc["agreement_skipped"]?.stringValue?.contains("converted") == true, "\(id)")
            #expect(seconds < 20, "\(id): \(seconds) s")
        }
        let wrong = try InspectCommandTests.run([
            "compat", dir + "/llama3-instruct-8b/base", dir + "/llama2-chat-7b/draft", "--json",
        ])
        #expect(wrong.status == 78, "\(wrong.stderr)")
        let failed = try JSONParser().parse(wrong.stdout)["checks"]?.arrayValue?.filter {
            $0["ok"]?.boolValue == false
        }.compactMap { $0["name"]?.stringValue }
        #expect(failed == ["vocabulary", "embedding", "rope theta"], "\(failed ?? [])")
    }
}
