import Foundation
import StrictJSON
import Testing
import TestSupport

/// `convert --eval` measures the conversion against an f32 conversion of the same source (made
/// beside it and removed), and `eval` does the same for two given files.
@Suite struct EvalCommandTests {
    @Test func convertWithEvalReportsTheDivergence() throws {
        let dir = Fixtures.temporaryDirectory()
        let out = dir + "/q4.hkw"
        let r = try InspectCommandTests.run([
            "convert", Fixtures.path("demo-pair/base"), "--out", out, "--type", "q4_0", "--eval", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONParser().parse(r.stdout)
        let eval = try #require(doc["eval"])
        let kld = try #require(eval["mean_kld"]?.doubleValue)
        #expect(kld > 0 && kld < 0.2)
        #expect((eval["top1_agreement"]?.doubleValue ?? 0) > 0.7)
        #expect((eval["positions"]?.intValue ?? 0) > 1000)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir) == ["q4.hkw"], "the f32 reference was left behind")
        // The same measure from `eval`, with the model as its own reference: nothing moved.
        try Data("def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n".utf8)
            .write(to: URL(fileURLWithPath: dir + "/text.txt"))
        let same = try InspectCommandTests.run([
            "eval", out, "--reference", out, "--text", dir + "/text.txt", "--context", "16", "--json",
        ])
        #expect(same.status == 0, "\(same.stderr)")
        let sameDoc = try JSONParser().parse(same.stdout)
        #expect(sameDoc["mean_kld"]?.doubleValue == 0 && sameDoc["top1_agreement"]?.doubleValue == 1)
    }
}
