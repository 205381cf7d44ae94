import Inference
import StrictJSON
import Testing
import TestSupport

/// The engine against a transformers reference file (`refs/<model>.json`): for every prompt, the
/// last-position logits within `tolerance` (absolute, the number the README states for the
/// family), and the greedy continuation (48 or 16 tokens) equal.
enum TransformersReference {
    static func expectMatches(_ model: some CausalModel, prompts: [JSONValue], label: String, tolerance: Float) throws {
        #expect(!prompts.isEmpty, "\(label): no prompts in the reference file")
        for p in prompts {
            let name = "\(label) \(p["name"]?.stringValue ?? "")"
            let ids = try p.ints("input_ids")
            let expected = try p.floats("last_logits")
            let greedy = try (p["greedy48"] != nil ? p.ints("greedy48") : p.ints("greedy16"))
            let (tokens, logits, _) = model.greedy(prompt: ids, maxTokens: greedy.count)
            let worst = try maxAbsDifference(logits, expected)
            #expect(worst <= tolerance, "\(name): max |Δlogit| \(worst), the README promises \(tolerance)")
            #expect(tokens == greedy, "\(name)")
        }
    }
}
