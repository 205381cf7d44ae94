import Inference
import StrictJSON
import Testing

/// The engine against a transformers reference file (`refs/<model>.json`): for every prompt, the
/// last-position logits within 1e-3 of the largest reference logit, and the greedy continuation
/// (48 or 16 tokens) equal.
enum TransformersReference {
    static func expectMatches(_ model: some CausalModel, prompts: [JSONValue], label: String) {
        for p in prompts {
            let name = "\(label) \(p["name"]?.stringValue ?? "")"
            let ids = (p["input_ids"]?.arrayValue ?? []).compactMap(\.intValue)
            let expected = (p["last_logits"]?.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) }
            let greedy = (p["greedy48"]?.arrayValue ?? p["greedy16"]?.arrayValue ?? []).compactMap(\.intValue)
            let (tokens, logits, _) = model.greedy(prompt: ids, maxTokens: greedy.count)
            #expect(logits.count == expected.count, "\(name)")
            let scale = expected.map { abs($0) }.max() ?? 1
            let worst = zip(logits, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-3 * max(1, scale), "\(name): max |Δlogit| \(worst)")
            #expect(tokens == greedy, "\(name)")
        }
    }
}
