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
}
