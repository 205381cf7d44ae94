import Platform
import StrictJSON
import Testing
import TestSupport
import Tokenizers

/// Chat formats against transformers' `apply_chat_template` (`refs/tokenizer_<family>.json`).
@Suite struct ChatTemplateTests {
    @Test(arguments: [("llama3", ChatTemplate.llama3), ("qwen2", .chatml), ("llama2", .llama2)])
    func rendersLikeTransformers(_ family: String, _ template: ChatTemplate) throws {
        let cases = try #require(try Fixtures.json("refs/tokenizer_\(family).json")["chat_template_cases"]?.arrayValue)
        let tokenizer = try Tokenizer(
            data: try FileSystem.readFile(Fixtures.path("tokenizers/\(family)/tokenizer.json")))
        #expect(!cases.isEmpty)
        for c in cases {
            let messages = (c["messages"]?.arrayValue ?? []).map {
                ChatTemplate.Message(role: $0["role"]?.stringValue ?? "", content: $0["content"]?.stringValue ?? "")
            }
            let text = template.render(messages, addGenerationPrompt: c["add_generation_prompt"]?.boolValue ?? true)
            #expect(text == c["text"]?.stringValue)
            #expect(
                tokenizer.encode(text) == (c["ids"]?.arrayValue ?? []).compactMap(\.intValue),
                "\(family): \(text.debugDescription)")
        }
    }

    @Test func detectsTheFamilyFromTheJinjaTemplate() {
        #expect(ChatTemplate(detecting: "{% for m in messages %}<|start_header_id|>…") == .llama3)
        #expect(ChatTemplate(detecting: "{{'<|im_start|>' + message['role']}}") == .chatml)
        #expect(ChatTemplate(detecting: "{{ bos_token + '[INST] ' }}") == .llama2)
        #expect(ChatTemplate(detecting: "{{ messages }}") == nil)
    }
}

/// The demo pair's own `chat_template`, rendered by jinja2 as transformers does
/// (`Scripts/gen_chat_refs.py`), including contents the template trims.
@Suite struct DemoChatTemplateTests {
    @Test func detectedTemplateRendersLikeJinja() throws {
        let config = try JSONParser().parse(
            try FileSystem.readFile(Fixtures.path("demo-pair/base/tokenizer_config.json")))
        let jinja = try #require(config["chat_template"]?.stringValue)
        let template = try #require(ChatTemplate(detecting: jinja))
        #expect(template == .llama3)
        let cases = try #require(try Fixtures.json("refs/chat_demo.json")["cases"]?.arrayValue)
        #expect(cases.count == 6)
        for c in cases {
            let messages = (c["messages"]?.arrayValue ?? []).map {
                ChatTemplate.Message(role: $0["role"]?.stringValue ?? "", content: $0["content"]?.stringValue ?? "")
            }
            #expect(
                template.render(messages, addGenerationPrompt: c["add_generation_prompt"]?.boolValue ?? true)
                    == c["text"]?.stringValue)
        }
    }
}
