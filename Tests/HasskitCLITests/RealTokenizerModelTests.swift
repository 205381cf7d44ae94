import Foundation
import Platform
import StrictJSON
import Testing
import TestSupport
import Tokenizers

/// `template`, `run --chat`, `compat` and `check` on models that carry each published family's
/// real tokenizer and chat template: a tiny random pair with the tokenizer's vocabulary
/// (`TinyPairWriter`) converted with the real files beside it. The template's text and ids must
/// be transformers' (`refs/chat_templates.json`); nothing may exit 70. The tokenizer files come
/// from the shared fixtures; without them the suite is skipped.
extension DiskHeavyTests {
    @Suite(.enabled(if: Fixtures.shared != nil, "needs ../shared/fixtures/real-tokenizers"))
    struct RealTokenizerModelTests {
        static let families: [(tokenizer: String, file: String, template: String)] = [
            ("llama3", "tokenizer.json", "meta-llama-3-8b-instruct"),
            ("qwen2", "tokenizer.json", "qwen2-7b-instruct"),
            ("deepseek_v3", "tokenizer.json", "deepseek-r1"),
            ("smollm2", "tokenizer.json", "smollm2-135m-instruct"),
            ("llama2", "tokenizer.model", "llama-2-7b-chat-hf"),
        ]

        static func run(_ arguments: [String]) throws -> InspectCommandTests.Run {
            try InspectCommandTests.run(arguments)
        }

        @Test(arguments: families.map(\.template))
        func pairWorksWithTheRealTokenizerAndTemplate(_ templateName: String) throws {
            let family = try #require(Self.families.first { $0.template == templateName })
            let shared = try #require(Fixtures.shared)
            let tokenizerFile = shared + "/real-tokenizers/\(family.tokenizer)/\(family.file)"
            let tokenizer =
                family.file == "tokenizer.model"
                ? try Tokenizer(sentencePieceModel: try FileSystem.readFile(tokenizerFile))
                : try Tokenizer(data: try FileSystem.readFile(tokenizerFile))
            let dir = Fixtures.temporaryDirectory("hasskit-realtok")
            try TinyPairWriter.write(to: dir, vocabularySize: tokenizer.vocabularySize)
            try FileManager.default.copyItem(atPath: tokenizerFile, toPath: dir + "/base/" + family.file)
            try FileManager.default.copyItem(
                atPath: shared + "/real-templates/\(templateName)/tokenizer_config.json",
                toPath: dir + "/base/tokenizer_config.json")
            let b = dir + "/b.hkw"
            let d = dir + "/d.hkw"
            let convert = try Self.run(["convert", dir + "/base", "--out", b, "--type", "q8_0"])
            #expect(convert.status == 0, "\(convert.stderr)")
            let convertDraft = try Self.run(["convert", dir + "/draft", "--out", d, "--type", "q8_0", "--draft-of", b])
            #expect(convertDraft.status == 0, "\(convertDraft.stderr)")

            let refs = try #require(
                try Fixtures.json("refs/chat_templates.json")["templates"]?[templateName]?["cases"]?.arrayValue)
            func reference(_ name: String, generation: Bool) throws -> JSONValue {
                try #require(
                    refs.first {
                        $0["name"]?.stringValue == name && $0["add_generation_prompt"]?.boolValue == generation
                    })
            }
            // `template`: the text and ids transformers gives, for a multi-turn conversation.
            let multi = try reference("multi_turn", generation: true)
            try Data((multi["messages"] ?? .null).serialized().utf8).write(
                to: URL(fileURLWithPath: dir + "/multi.json"))
            let t = try Self.run([
                "template", b, "--messages", dir + "/multi.json", "--add-generation-prompt", "--json",
            ])
            #expect(t.status == 0, "\(t.stderr)")
            let doc = try JSONParser(maxDepth: 64).parse(t.stdout)
            #expect(
                doc["text"]?.stringValue.map { Array($0.utf8) } == multi["text"]?.stringValue.map { Array($0.utf8) })
            #expect(doc["ids"]?.arrayValue?.compactMap(\.intValue) == multi["ids"]?.arrayValue?.compactMap(\.intValue))

            // `run --chat`: the prompt is one user turn through the same template.
            let userOnly = try reference("user_only", generation: true)
            let r = try Self.run(["run", b, "--prompt", "Hello!", "--chat", "--max-tokens", "4", "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let runDoc = try JSONParser(maxDepth: 64).parse(r.stdout)
            #expect(
                runDoc["prompt_ids"]?.arrayValue?.compactMap(\.intValue)
                    == userOnly["ids"]?.arrayValue?.compactMap(\.intValue))
            #expect(runDoc["output_ids"]?.arrayValue?.count == 4)

            // `compat` and `check` with conversations as prompts.
            let compat = try Self.run(["compat", b, d, "--json"])
            #expect(compat.status == 0, "\(compat.stderr)")
            let conversations = [try reference("system_user", generation: true), multi].compactMap { $0["messages"] }
            try Data(conversations.map { $0.serialized() + "\n" }.joined().utf8)
                .write(to: URL(fileURLWithPath: dir + "/prompts.jsonl"))
            let check = try Self.run([
                "check", "--base", b, "--draft", d, "--prompts", dir + "/prompts.jsonl", "--max-tokens", "6", "--top-k",
                "2",
                "--depth", "2", "--total-tokens", "4", "--json",
            ])
            #expect(check.status == 0, "\(check.stderr)")
            let checkDoc = try JSONParser(maxDepth: 64).parse(check.stdout)
            #expect(checkDoc["identical"]?.boolValue == true)
            #expect(checkDoc["prompts"]?.intValue == 2)

            // A template that raises is bad input with the template's own words.
            if let raised = refs.first(where: { $0["error"] != nil }), let message = raised["message"]?.stringValue {
                try Data((raised["messages"] ?? .null).serialized().utf8).write(
                    to: URL(fileURLWithPath: dir + "/bad.json"))
                let bad = try Self.run(["template", b, "--messages", dir + "/bad.json"])
                #expect(bad.status == 65 && bad.stderr.contains(message), "\(bad.stderr)")
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
}
