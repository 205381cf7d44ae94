internal import COpenBLAS
internal import CKernels
import Foundation

/// What `hasskit bench MODEL.hkw` measures: the engine's prefill and decode speed, and the two
/// bounds this machine sets for them, measured by the same process in the same run.
///
/// - Decode reads every weight matrix once per token, so it can go no faster than the bytes of
///   those matrices ÷ the rate this machine streams them (`weightReadBandwidth`, reading the same
///   mapped bytes with the same number of threads, no arithmetic).
/// - Prefill is matrix-matrix work, bounded by `cblas_sgemm`'s arithmetic rate on the model's own
///   shapes (`sgemmFLOPS`, split across threads the way the engine splits it).
public enum EngineBench {
    /// Tokens per second of `tokens` greedy decoding steps after one start token (llama-bench's
    /// `tg` test; end-of-sequence is ignored).
    public static func decode(_ model: LlamaModel, tokens: Int) -> Double {
        let cache = model.makeCache()
        var next = startToken(model)
        let start = DispatchTime.now()
        for _ in 0..<tokens {
            let logits = model.step(token: next, cache: cache).logits
            next = logits.indices.max { logits[$0] < logits[$1] } ?? 0
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
        _ = model.forward(tokens: ids, cache: model.makeCache())
        return Double(tokens) / seconds(since: start)
    }

    /// The matrices a decoding step reads in full (every layer's projections and the output head;
    /// of the embedding only one row).
    static func decodeMatrices(_ model: LlamaModel) -> [WeightMatrix] {
        model.layers.flatMap { [$0.q, $0.k, $0.v, $0.o, $0.gate, $0.up, $0.down] } + [model.output]
    }

    /// Bytes of weights one decoding step reads.
    public static func weightBytesPerToken(_ model: LlamaModel) -> Int {
        decodeMatrices(model).reduce(0) { $0 + $1.data.count }
    }

    /// Bytes per second at which `threads` threads stream the decode's weights from their mapping
    /// (each thread reads its share of every matrix; no arithmetic), the best of three patterns:
    /// one sequential stream per thread, and two or four interleaved streams per thread (the
    /// quarters of its share, 32 bytes from each in turn, as the decode kernels read four rows at
    /// once; one core pulls noticeably more through several streams). Repeats passes until at
    /// least `minimumBytes` were read; the best of `rounds` timings.
    public static func weightReadBandwidth(
        _ model: LlamaModel, threads: Int, minimumBytes: Int = 2 << 30, rounds: Int = 3
    ) -> Double {
        let matrices = decodeMatrices(model)
        let total = matrices.reduce(0) { $0 + $1.data.count }
        guard total > 0 else { return 0 }
        let passes = max(1, (minimumBytes + total - 1) / total)
        var best = 0.0
        let sink = SinkCounter()
        for streams in [1, 2, 4] {
            for _ in 0..<rounds {
                let start = DispatchTime.now()
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    var acc: UInt64 = 0
                    for _ in 0..<passes {
                        for m in matrices {
                            let count = m.data.count, begin = count * t / threads, end = count * (t + 1) / threads
                            acc &+= m.data.withUnsafeBytes { raw in
                                let base = raw.baseAddress! + begin
                                let share = end - begin, part = share / streams
                                return ck_touch_streams(base, part, streams, part)
                                    &+ ck_touch_bytes(base + streams * part, share - streams * part)
                            }
                        }
                    }
                    sink.add(acc)
                }
                best = max(best, Double(total * passes) / seconds(since: start))
            }
        }
        return best
    }

    /// Multiply-adds ×2 per second of `cblas_sgemm` for an m × k by k × n product, the n columns
    /// split across `threads` single-threaded calls as the engine splits a batched product. The
    /// best of `rounds` timings.
    public static func sgemmFLOPS(m: Int, n: Int, k: Int, threads: Int, rounds: Int = 3) -> Double {
        BLASThreads.once
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        var best = 0.0
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    let pa = SendablePointer(UnsafeMutablePointer(mutating: ap.baseAddress!))
                    let pb = SendablePointer(UnsafeMutablePointer(mutating: bp.baseAddress!))
                    let pc = SendablePointer(cp.baseAddress!)
                    for _ in 0..<rounds {
                        let start = DispatchTime.now()
                        DispatchQueue.concurrentPerform(iterations: threads) { t in
                            let begin = n * t / threads, end = n * (t + 1) / threads
                            cblas_sgemm(
                                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(end - begin), Int32(k), 1,
                                pa.pointer, Int32(k), pb.pointer + begin * k, Int32(k), 0, pc.pointer + begin, Int32(n))
                        }
                        best = max(best, 2 * Double(m) * Double(n) * Double(k) / seconds(since: start))
                    }
                }
            }
        }
        return best
    }

    /// Multiply-adds ×2 per token of a prefill: every matrix of every layer plus the output head
    /// (attention scores are left out: at the lengths benchmarked they are a few percent).
    public static func flopsPerToken(_ model: LlamaModel) -> Double {
        decodeMatrices(model).reduce(0.0) { $0 + 2 * Double($1.rows) * Double($1.cols) }
    }

    /// Parameters of the model's matrices (the embedding counted once when the head is tied to it).
    public static func parameters(_ model: LlamaModel) -> Int {
        let tied = model.output.name == model.embedding.name
        return decodeMatrices(model).reduce(tied ? 0 : model.embedding.rows * model.embedding.cols) {
            $0 + $1.rows * $1.cols
        }
    }

    /// The storage type holding most of the decode's weight bytes.
    public static func mainType(_ model: LlamaModel) -> String {
        let bytes = Dictionary(grouping: decodeMatrices(model), by: \.type).mapValues {
            $0.reduce(0) { $0 + $1.data.count }
        }
        return bytes.max { $0.value < $1.value }?.key.rawValue ?? "?"
    }

    static func startToken(_ model: LlamaModel) -> Int { min(1, model.config.vocab - 1) }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// Keeps benchmark reads observable so the compiler cannot drop them.
private final class SinkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64 = 0
    func add(_ x: UInt64) {
        lock.lock()
        value &+= x
        lock.unlock()
    }
}
