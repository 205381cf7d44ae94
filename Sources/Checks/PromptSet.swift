import Jinja
import Platform
import StrictJSON

/// One prompt of a prompt set: plain text, or a whole conversation for the model's chat template.
public enum Prompt: Sendable {
    case text(String)
    /// Messages as JSON objects (`role`, `content`, and whatever else the template reads).
    case conversation([Value])
}

/// The prompts `check` and `compat` run: a bundled set, or a file.
///
/// A file is read by its name: `.json` holds a list of conversations (each a list of messages,
/// or an object with `messages`), or one conversation; `.jsonl` holds one conversation (or one
/// string) per line; anything else is plain text, one prompt per line.
public enum PromptSet {
    /// A few chat, code and math prompts, short enough for a smoke test on the CPU.
    public static let bundled = [
        "What are three tips for staying focused while working from home?",
        "Write a short, friendly reply declining a meeting invitation.",
        "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
        "def read_lines(path):\n    with open(path) as f:\n",
        "import json\n\ndef load_config(path):\n",
        "Question: A train travels 120 km in 1.5 hours. What is its average speed?\nAnswer:",
        "Question: What is 17 * 23?\nAnswer: Let's compute step by step.",
    ]

    /// The prompts of `file`, or the bundled set when nil.
    public static func prompts(file: String?) throws -> [Prompt] {
        guard let file else { return bundled.map(Prompt.text) }
        let data = try FileSystem.readFile(file)
        var prompts: [Prompt] = []
        if file.hasSuffix(".json") {
            let json = try parse(data, file: file)
            // One conversation (a list of message objects) or a list of them.
            if let items = json.arrayValue, items.allSatisfy({ $0["role"] != nil }) {
                prompts = [try conversation(json, file: file, at: "the document")]
            } else if let items = json.arrayValue {
                prompts = try items.enumerated().map { try prompt($1, file: file, at: "item \($0 + 1)") }
            } else {
                prompts = [try prompt(json, file: file, at: "the document")]
            }
        } else if file.hasSuffix(".jsonl") {
            for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated()
            where !line.allSatisfy(\.isWhitespace) {
                prompts.append(
                    try prompt(
                        try parse(Array(line.utf8), file: "\(file) line \(n + 1)"), file: file, at: "line \(n + 1)"))
            }
        } else {
            prompts = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
                .filter { !$0.allSatisfy(\.isWhitespace) }.map(Prompt.text)
        }
        guard !prompts.isEmpty else { throw CheckError(.noPrompts, path: file) }
        return prompts
    }

    /// The texts of plain-text prompts (`compat`, which measures agreement on raw text).
    public static func texts(file: String?) throws -> [String] {
        try prompts(file: file).map {
            guard case let .text(t) = $0 else {
                throw CheckError(
                    .badPrompts("conversations need --chat; this command takes plain text"), path: file ?? "")
            }
            return t
        }
    }

    /// One conversation from a JSON file: a list of messages, or `{"messages": [...]}`.
    public static func conversation(file: String) throws -> [Value] {
        let json = try parse(try FileSystem.readFile(file), file: file)
        guard
            case let .conversation(messages) = try conversation(
                json["messages"] ?? json, file: file, at: "the document")
        else { return [] }
        return messages
    }

    static func parse(_ data: [UInt8], file: String) throws -> JSONValue {
        do { return try JSONParser(maxDepth: 64).parse(data) } catch {
            throw CheckError(.badPrompts("not valid JSON: \(error)"), path: file)
        }
    }

    static func prompt(_ json: JSONValue, file: String, at place: String) throws -> Prompt {
        if let s = json.stringValue { return .text(s) }
        if let messages = json["messages"] { return try conversation(messages, file: file, at: place) }
        return try conversation(json, file: file, at: place)
    }

    static func conversation(_ json: JSONValue, file: String, at place: String) throws -> Prompt {
        guard let items = json.arrayValue, !items.isEmpty else {
            throw CheckError(
                .badPrompts("\(place) is not a string, a list of messages or {\"messages\": […]}"), path: file)
        }
        for (i, m) in items.enumerated() where m["role"]?.stringValue == nil {
            throw CheckError(.badPrompts("\(place), message \(i + 1) has no \"role\" string"), path: file)
        }
        return .conversation(items.map(Value.init(json:)))
    }
}
