import Foundation
import StrictJSON
import Testing
import TestSupport

/// `--draft-vocab N` on `check` and `run --draft`: the head drafts over the N tokens the base's
/// tokenizer finds most often in the ranking text; the outputs stay plain greedy decoding's.
@Suite struct DraftVocabularyCommandTests {
    @Test func checkAndRunWithADraftVocabulary() throws {
        let dir = Fixtures.temporaryDirectory("hasskit-frspec")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (src, out) in [("demo-pair/base", "b.hkw"), ("demo-pair/draft", "d.hkw")] {
            let c = try InspectCommandTests.run([
                "convert", Fixtures.path(src), "--out", dir + "/" + out, "--type", "q8_0",
            ])
            #expect(c.status == 0, "\(c.stderr)")
        }
        try Data("What is the capital of France?\ndef add(a, b):\n".utf8).write(
            to: URL(fileURLWithPath: dir + "/prompts.txt"))
        let base = ["--base", dir + "/b.hkw", "--draft", dir + "/d.hkw", "--prompts", dir + "/prompts.txt"]
        let check = try InspectCommandTests.run(
            ["check"] + base + ["--max-tokens", "16", "--draft-vocab", "512", "--json"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(try JSONParser().parse(check.stdout)["identical"]?.boolValue == true, "\(check.stdout)")
        let text = dir + "/rank.txt"
        try Data("the the the capital France".utf8).write(to: URL(fileURLWithPath: text))
        let run = try InspectCommandTests.run([
            "run", dir + "/b.hkw", "--draft", dir + "/d.hkw", "--prompt", "The capital of France is", "--max-tokens",
            "8", "--draft-vocab", "64", "--draft-vocab-text", text, "--json",
        ])
        let plain = try InspectCommandTests.run([
            "run", dir + "/b.hkw", "--prompt", "The capital of France is", "--max-tokens", "8", "--json",
        ])
        #expect(run.status == 0 && plain.status == 0, "\(run.stderr)")
        let ids = { (s: String) in try JSONParser().parse(s)["output_ids"]?.arrayValue?.compactMap(\.intValue) }
        #expect(try ids(run.stdout) == ids(plain.stdout))
    }
}
