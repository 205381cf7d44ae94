import Platform
import Tokenizers

/// FR-Spec's draft vocabulary (Zhao et al. 2025; SGLang's `--speculative-token-map`): the tokens a
/// draft head may propose, the most frequent first. A head then multiplies by those rows of the
/// output head only (`DraftHead`'s `draftVocabulary`); verification still scores every token, so
/// the output is unchanged and only τ can move.
public enum DraftVocabulary {
    /// The `size` most frequent tokens of `text` under `tokenizer`, then the rest in id order (a
    /// BPE vocabulary's merges were added most frequent first, so low ids are the common pieces),
    /// always with `include` (the stop tokens, so that drafts can end).
    public static func ranked(tokenizer: Tokenizer, text: String, size: Int, include: Set<Int> = []) -> [Int] {
        var counts: [Int: Int] = [:]
        for id in tokenizer.encode(text) { counts[id, default: 0] += 1 }
        var chosen = Array(include).sorted()
        var seen = Set(chosen)
        let byFrequency = counts.keys.sorted { (counts[$0]!, -$0) > (counts[$1]!, -$1) }
        for id in byFrequency where chosen.count < size && seen.insert(id).inserted { chosen.append(id) }
        var next = 0
        while chosen.count < size && next < tokenizer.vocabularySize {
            if seen.insert(next).inserted { chosen.append(next) }
            next += 1
        }
        return chosen.sorted()
    }

    /// The default ranking text: the bundled evaluation text (about 2,000 tokens of prose, code
    /// and dialogue).
    public static var defaultText: String { EvalText.text }

    /// A model's draft vocabulary: `size` tokens ranked by its tokenizer over the text of
    /// `textFile` (the bundled evaluation text when nil), its stop tokens included.
    public static func ids(size: Int, textFile: String?, extras: ModelExtras, path: String) throws -> [Int] {
        guard let tokenizer = extras.tokenizer else { throw CheckError(.noTokenizer, path: path) }
        let text = try textFile.map { String(decoding: try FileSystem.readFile($0), as: UTF8.self) } ?? defaultText
        return ranked(tokenizer: tokenizer, text: text, size: size, include: extras.stopTokens)
    }
}
