import StrictJSON
import Tokenizers
import WeightFormat

/// What `run`, `check` and `compat` read from the files a converted model carries besides its
/// tensors: the tokenizer, the chat template and the stop tokens. Each file is checked against
/// its SHA-256 before it is parsed.
public struct ModelExtras {
    public var tokenizer: Tokenizer?
    public var chatTemplate: ChatTemplate?
    public var stopTokens: Set<Int> = []
    /// Why the tokenizer could not be loaded, when `requireTokenizer` was false and it could not.
    public var tokenizerProblem: TokenizerError?

    /// - Parameter requireTokenizer: false where token ids are enough (`run --prompt-ids`): a
    ///   tokenizer that cannot be loaded is then reported in `tokenizerProblem` instead of thrown,
    ///   so the engine can always be run.
    public init(path: String, requireTokenizer: Bool = true) throws {
        let file = try HKWFile(path: path)
        do {
            if let bytes = try file.verifiedFile(named: "tokenizer.json") {
                tokenizer = try Tokenizer(data: bytes)
            } else if let bytes = try file.verifiedFile(named: "tokenizer.model") {
                tokenizer = try Tokenizer(sentencePieceModel: bytes)
            }
        } catch var e as TokenizerError {
            e.file = "\(path) (its tokenizer)"
            if requireTokenizer { throw e }
            tokenizerProblem = e
        }
        if let bytes = try file.verifiedFile(named: "tokenizer_config.json"),
            let template = try? JSONParser().parse(bytes)["chat_template"]?.stringValue
        {
            chatTemplate = ChatTemplate(detecting: template)
        }
        for name in ["config.json", "generation_config.json"] {
            guard let bytes = try file.verifiedFile(named: name), let json = try? JSONParser().parse(bytes) else {
                continue
            }
            let ids = json["eos_token_id"].map { $0.arrayValue ?? [$0] } ?? []
            stopTokens.formUnion(ids.compactMap { $0.int64Value.map(Int.init) })
        }
    }
}
