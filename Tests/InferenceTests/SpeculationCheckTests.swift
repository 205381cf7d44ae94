import Checks
import Inference
import Testing

/// The summary figures of `hasskit check` from hand-made results.
@Suite struct SpeculationCheckTests {
    static func result(
        _ plain: [Int], _ spec: [Int], _ accepts: [Int], _ ps: Double, _ ss: Double
    ) -> SpeculationCheck.PromptResult {
        SpeculationCheck.PromptResult(
            plain: plain, speculative: spec, acceptLengths: accepts, plainSeconds: ps, speculativeSeconds: ss)
    }

    @Test func tauRatesAndSpeeds() {
        var check = SpeculationCheck(settings: TreeSettings(topK: 2, depth: 2, totalTokens: 6))
        // Accept lengths 0…3 (depth 2 means three draft levels).
        check.results = [
            Self.result([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [3, 1], 2, 1),
            Self.result([7, 8], [7, 8], [0, 0], 1, 2),
        ]
        #expect(check.identical)
        // (3 + 1 + 0 + 0 + 4 steps) / 4 steps.
        #expect(check.tau == 2)
        // d1: 2 of 4 steps; d2: 1 of those 2; d3: 1 of 1.
        #expect(check.acceptRateByDepth == [0.5, 0.5, 1])
        #expect(check.plainTokensPerSecond == 8.0 / 3)
        #expect(check.speculativeTokensPerSecond == 8.0 / 3)
        #expect(check.speedup == 1)
    }

    @Test func differencesAreLocated() {
        #expect(Self.result([1, 2, 3], [1, 9, 3], [], 1, 1).firstDifference == 1)
        #expect(Self.result([1, 2, 3], [1, 2], [], 1, 1).firstDifference == 2)
        #expect(Self.result([1, 2], [1, 2], [], 1, 1).firstDifference == nil)
        var check = SpeculationCheck(settings: .published)
        check.results = [Self.result([1], [2], [0], 1, 1)]
        #expect(!check.identical)
        #expect(check.acceptRateByDepth.count == 6)
        #expect(check.acceptRateByDepth[1] == nil)
    }
}
