import ArgumentParser
import Checks
import Foundation
import StrictJSON
import Tokenizers

/// `hasskit template MODEL.hkw --messages FILE.json`: a conversation rendered with the model's own
/// chat template, as `apply_chat_template` renders it, and its token ids.
struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render a conversation with a converted model's chat template and show its token ids.",
        discussion: """
            The messages file is a JSON list of {"role": …, "content": …} objects (or {"messages": [...]}); \
            other fields (tool calls, reasoning) are passed to the template as they are. The text is \
            what transformers' apply_chat_template renders; the ids are its encoding without added \
            special tokens (as apply_chat_template(tokenize=True)). A template that raises an error \
            (LLaMA-2 on two user turns in a row) exits 65 with the template's message.
            """)

    @OptionGroup var diagnostics: Diagnostics

    @Argument(help: "A converted model (.hkw).")
    var model: String

    @Option(help: ArgumentHelp("The conversation (JSON).", valueName: "file"))
    var messages: String

    @Flag(help: "End with the header of an assistant turn, as for generation.")
    var addGenerationPrompt = false

    @Option(help: "Chat format for a model that carries no chat template: llama2, llama3 or chatml.")
    var template: ChatFormat?

    @Flag(help: "Print one JSON document {\"text\", \"ids\"} on stdout.")
    var json = false

    func run() throws {
        let extras = try ModelExtras(path: model, requireTokenizer: false)
        let conversation = try PromptSet.conversation(file: messages)
        let (chat, warning) = try extras.chatTemplate(named: template, path: model)
        if let warning { Console.log("hasskit: warning: \(warning)") }
        let text = try chat.render(conversation: conversation, addGenerationPrompt: addGenerationPrompt)
        let ids = extras.tokenizer?.encode(text)
        if let problem = extras.tokenizerProblem {
            Console.log("hasskit: warning: \(problem.description); showing the text only")
        }
        if json {
            Console.out(
                JSONValue.object([
                    ("text", .string(text)), ("ids", ids.map { .array($0.map { .int($0) }) } ?? .null),
                ]).serialized())
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
            if !text.hasSuffix("\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
            if let ids { Console.out("ids (\(ids.count)): " + ids.map(String.init).joined(separator: ", ")) }
        }
    }
}
