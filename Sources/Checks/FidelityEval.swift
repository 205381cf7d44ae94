import Foundation
import Inference

/// How much a model's next-token distribution moved from a reference's (a quantized file against
/// its f32 conversion), teacher-forced over a text, as llama.cpp's `perplexity --kl-divergence`
/// reports it: the text is cut into chunks of `context` tokens, each starts afresh, and the second
/// half of each chunk is scored (the first half is context).
public struct FidelityReport: Sendable, Equatable {
    /// Positions scored.
    public var positions: Int
    /// Mean KL(reference ‖ model) in nats, and its largest value at one position.
    public var meanKLD: Double
    public var maxKLD: Double
    /// Share of positions where both models' most likely next token is the same.
    public var top1Agreement: Double
    /// exp(mean negative log-likelihood of the text's next token), for each model.
    public var perplexity: Double
    public var referencePerplexity: Double
}

public enum FidelityEval {
    /// - Parameters:
    ///   - prefix: ids each chunk starts with (the tokenizer's BOS, if it adds one).
    public static func run(
        model: any CausalModel, reference: any CausalModel, tokens: [Int], prefix: [Int], context: Int = 256
    ) -> FidelityReport {
        let body = max(2, context - prefix.count)
        var kld = 0.0
        var maxKLD = 0.0
        var agree = 0
        var nll = 0.0
        var referenceNLL = 0.0
        var scored = 0
        var start = 0
        while start + 1 < tokens.count {
            let chunk = prefix + tokens[start..<min(tokens.count, start + body)]
            start += body
            let a = model.forward(tokens: chunk, cache: model.makeCache(), positions: nil, visible: nil).logits
            let b = reference.forward(tokens: chunk, cache: reference.makeCache(), positions: nil, visible: nil).logits
            for i in (chunk.count / 2)..<(chunk.count - 1) {
                let lp = logSoftmax(a[i])
                let lq = logSoftmax(b[i])
                var k = 0.0
                for j in lq.indices { k += exp(lq[j]) * (lq[j] - lp[j]) }
                kld += k
                maxKLD = max(maxKLD, k)
                if argmax(a[i]) == argmax(b[i]) { agree += 1 }
                nll -= lp[chunk[i + 1]]
                referenceNLL -= lq[chunk[i + 1]]
                scored += 1
            }
        }
        let n = Double(max(scored, 1))
        return FidelityReport(
            positions: scored, meanKLD: kld / n, maxKLD: maxKLD, top1Agreement: Double(agree) / n,
            perplexity: exp(nll / n), referencePerplexity: exp(referenceNLL / n))
    }

    /// log-softmax in double precision.
    static func logSoftmax(_ logits: [Float]) -> [Double] {
        let m = Double(logits.max() ?? 0)
        var sum = 0.0
        for v in logits { sum += exp(Double(v) - m) }
        let log = m + Foundation.log(sum)
        return logits.map { Double($0) - log }
    }
}

extension FidelityEval {
    /// The bundled default text (`EvalText`), for `hasskit eval` without `--text`.
    public static var defaultText: String { EvalText.text }
}
