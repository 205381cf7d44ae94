import Platform

/// The prompts `check` and `compat` run: a bundled set, or one prompt per line of a file.
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

    public static func texts(file: String?) throws -> [String] {
        guard let file else { return bundled }
        let data: [UInt8]
        data = try FileSystem.readFile(file)
        let texts = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init).filter {
            !$0.allSatisfy(\.isWhitespace)
        }
        guard !texts.isEmpty else { throw CheckError(.noPrompts, path: file) }
        return texts
    }
}
