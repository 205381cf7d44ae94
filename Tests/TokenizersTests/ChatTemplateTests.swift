import Jinja
import Platform
import StrictJSON
import Testing
import TestSupport
import Tokenizers

/// The real chat templates of the published bases' families, rendered by hasskit's Jinja
/// interpreter, against transformers' `apply_chat_template` rendering
/// (`Scripts/gen_template_refs.py` → `refs/chat_templates.json`, which carries each template's
/// source so these tests need nothing outside the repository).
@Suite struct ChatTemplateTests {
    static let refs = try! Fixtures.json("refs/chat_templates.json")
    static let names = (refs["templates"]?.objectMembers ?? []).map(\.0)

    static func messages(_ c: JSONValue) -> [Value] { (c["messages"]?.arrayValue ?? []).map(Value.init(json:)) }

    static func template(_ name: String) throws -> ChatTemplate {
        let entry = try #require(refs["templates"]?[name])
        var specials: [String: String] = [:]
        for (k, v) in entry["special_tokens"]?.objectMembers ?? [] { specials[k] = v.stringValue }
        return try ChatTemplate(
            source: try #require(entry["template"]?.stringValue), origin: name, specialTokens: specials)
    }

    @Test func everyPublishedFamilyIsCovered() {
        #expect(
            Set(Self.names).isSuperset(of: [
                "llama-2-7b-chat-hf", "meta-llama-3-8b-instruct", "deepseek-r1", "deepseek-r1-distill-qwen-32b",
                "qwen2-7b-instruct", "smollm2-135m-instruct",
            ]))
    }

    @Test(arguments: names)
    func rendersLikeTransformers(_ name: String) throws {
        let template = try Self.template(name)
        let cases = try #require(Self.refs["templates"]?[name]?["cases"]?.arrayValue)
        #expect(cases.count >= 20)
        for c in cases {
            let label = "\(name) \(c["name"]?.stringValue ?? "") gen=\(c["add_generation_prompt"]?.boolValue ?? false)"
            let result = Result {
                try template.render(
                    conversation: Self.messages(c), addGenerationPrompt: c["add_generation_prompt"]?.boolValue ?? false)
            }
            if let expected = c["text"]?.stringValue {
                let text = try result.get()
                #expect(Array(text.utf8) == Array(expected.utf8), "\(label): \(text.debugDescription)")
            } else {
                // LLaMA-2's template raises on roles out of order: the template's words, as an error.
                guard case let .failure(e as JinjaError) = result else {
                    Issue.record("\(label): expected \(c["message"]?.stringValue ?? "an error")")
                    continue
                }
                #expect(e.code == .raised, "\(label)")
                #expect(e.message == c["message"]?.stringValue, "\(label)")
            }
        }
    }

    /// The rendered conversations encode to the ids transformers gets, with each family's real
    /// tokenizer (read from the shared fixtures; skipped without them).
    @Test(.enabled(if: Fixtures.shared != nil, "needs ../shared/fixtures/real-tokenizers"), arguments: names)
    func encodesLikeTransformers(_ name: String) throws {
        let entry = try #require(Self.refs["templates"]?[name])
        guard let tokenizerName = entry["tokenizer"]?.stringValue else { return }  // not among the real files
        let folder = (Fixtures.shared ?? "") + "/real-tokenizers/\(tokenizerName)"
        let tokenizer =
            tokenizerName == "llama2"
            ? try Tokenizer(sentencePieceModel: try FileSystem.readFile(folder + "/tokenizer.model"))
            : try Tokenizer(data: try FileSystem.readFile(folder + "/tokenizer.json"))
        for c in entry["cases"]?.arrayValue ?? [] {
            guard let text = c["text"]?.stringValue else { continue }
            #expect(tokenizer.encode(text) == c.idList("ids"), "\(name) \(c["name"]?.stringValue ?? "")")
        }
    }

    /// The built-in formats (for models without a template) are the families' real templates.
    @Test func builtInFormatsAreTheRealTemplates() throws {
        let pairs: [(ChatFormat, String)] = [
            (.llama2, "llama-2-7b-chat-hf"), (.llama3, "meta-llama-3-8b-instruct"), (.chatml, "qwen2-7b-instruct"),
        ]
        for (format, name) in pairs {
            #expect(format.source == Self.refs["templates"]?[name]?["template"]?.stringValue, "\(format)")
            _ = format.template  // parses
        }
    }
}

/// Where a model's template comes from, as transformers looks for it.
@Suite struct ChatTemplateLoadingTests {
    @Test func jinjaFileWinsOverTheConfig() throws {
        let config = Array(
            #"{"chat_template": "config", "bos_token": {"content": "<B>", "__type": "AddedToken"}}"#.utf8)
        let t = try #require(
            try ChatTemplate.load(tokenizerConfig: config, jinjaFile: Array("{{ bos_token }}file".utf8)))
        #expect(t.origin == "chat_template.jinja")
        #expect(try t.render([]) == "<B>file")
        let fromConfig = try #require(try ChatTemplate.load(tokenizerConfig: config, jinjaFile: nil))
        #expect(try fromConfig.render([]) == "config")
    }

    @Test func namedTemplatesUseTheDefault() throws {
        let config = Array(
            #"{"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "plain"}]}"#
                .utf8)
        #expect(try ChatTemplate.load(tokenizerConfig: config, jinjaFile: nil)?.render([]) == "plain")
        #expect(try ChatTemplate.load(tokenizerConfig: Array("{}".utf8), jinjaFile: nil) == nil)
    }

    @Test func brokenTemplatesAreSyntaxErrorsNamingTheFile() throws {
        let config = Array(#"{"chat_template": "{% for m in messages %}unclosed"}"#.utf8)
        let e = try #require(throws: JinjaError.self) { try ChatTemplate.load(tokenizerConfig: config, jinjaFile: nil) }
        #expect(e.code == .syntax)
        #expect(e.description.contains("tokenizer_config.json"))
    }

    /// The demo pair's own template (`Scripts/gen_chat_refs.py`), including contents it trims.
    @Test func demoPairTemplateRendersLikeJinja() throws {
        let t = try #require(
            try ChatTemplate.load(
                tokenizerConfig: try FileSystem.readFile(Fixtures.path("demo-pair/base/tokenizer_config.json")),
                jinjaFile: nil))
        let cases = try #require(try Fixtures.json("refs/chat_demo.json")["cases"]?.arrayValue)
        #expect(cases.count == 6)
        for c in cases {
            #expect(
                try t.render(
                    conversation: ChatTemplateTests.messages(c),
                    addGenerationPrompt: c["add_generation_prompt"]?.boolValue ?? true) == c["text"]?.stringValue)
        }
    }
}
