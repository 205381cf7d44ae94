import Dispatch
import Inference

/// What `hasskit bench MODEL.hkw` measures: the engine's prefill and decode speed (llama-bench's
/// `pp` and `tg` tests), set against the bounds this machine gives them (`MachineProbe`), measured
/// by the same process in the same run.
public enum EngineBench {
    /// Tokens per second of `tokens` greedy decoding steps after one start token (llama-bench's
    /// `tg` test; end-of-sequence is ignored).
    public static func decode(_ model: LlamaModel, tokens: Int) -> Double {
        let cache = model.makeCache()
        var next = startToken(model)
        let start = DispatchTime.now()
        for _ in 0..<tokens {
            next = argmax(model.step(token: next, cache: cache, position: nil, visible: nil).logits)
        }
        return Double(tokens) / seconds(since: start)
    }

    /// Tokens per second of one prefill pass over `tokens` tokens (llama-bench's `pp` test).
    public static func prefill(_ model: LlamaModel, tokens: Int) -> Double {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let vocab = model.config.vocab
        let ids = (0..<tokens).map { _ -> Int in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(vocab))
        }
        let start = DispatchTime.now()
        _ = model.prefill(tokens: ids, cache: model.makeCache())
        return Double(tokens) / seconds(since: start)
    }

    /// Bytes of weights one decoding step reads.
    public static func weightBytesPerToken(_ model: LlamaModel) -> Int {
        model.decodeMatrices.reduce(0) { $0 + $1.byteCount }
    }

    /// Bytes per second at which `threads` threads stream the decode's weights (the decode bound).
    public static func weightReadBandwidth(_ model: LlamaModel, threads: Int) -> Double {
        MachineProbe.streamRate(model.decodeMatrices, threads: threads)
    }

    /// Multiply-adds ×2 per token of a prefill: every matrix of every layer plus the output head
    /// (attention scores are left out: at the lengths benchmarked they are a few percent).
    public static func flopsPerToken(_ model: LlamaModel) -> Double {
        model.decodeMatrices.reduce(0.0) { $0 + 2 * Double($1.rows) * Double($1.cols) }
    }

    /// Parameters of the model's matrices (the embedding counted once when the head is tied to it).
    public static func parameters(_ model: LlamaModel) -> Int {
        let embedding = model.embeddingMatrix
        let tied = model.decodeMatrices.last?.name == embedding.name
        return model.decodeMatrices.reduce(tied ? 0 : embedding.rows * embedding.cols) { $0 + $1.rows * $1.cols }
    }

    /// The storage type holding most of the decode's weight bytes.
    public static func mainType(_ model: LlamaModel) -> String {
        let bytes = Dictionary(grouping: model.decodeMatrices, by: \.type).mapValues {
            $0.reduce(0) { $0 + $1.byteCount }
        }
        return bytes.max { $0.value < $1.value }?.key.rawValue ?? "?"
    }

    static func startToken(_ model: LlamaModel) -> Int { min(1, model.config.vocab - 1) }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
