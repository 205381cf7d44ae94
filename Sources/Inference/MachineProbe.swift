internal import COpenBLAS
import Dispatch
import Foundation
import Platform
import Quantization

/// The two rates this machine bounds the engine by, measured with the engine's own memory access
/// pattern and BLAS (`hasskit bench` sets its figures against them; the bench itself is in Checks).
///
/// - Decode reads every weight matrix once per token, so it can go no faster than those bytes ÷
///   the rate this machine streams them (`streamRate`, the same mapped bytes, the same threads,
///   no arithmetic).
/// - Prefill is matrix-matrix work, bounded by arithmetic: the rate of the 8-bit kernels' product
///   instruction (`int8MultiplyAddRate`) where the model's products take 8-bit activations, else
///   `cblas_sgemm`'s on the model's own shapes (`sgemmFLOPS`, split the way the engine splits it).
public enum MachineProbe {
    /// Bytes per second at which `threads` threads stream `matrices` from their mapping (each
    /// thread reads its share of every matrix; no arithmetic), the best of three patterns: one
    /// sequential stream per thread, and two or four interleaved streams per thread (the quarters
    /// of its share, 32 bytes from each in turn, as the decode kernels read four rows at once; one
    /// core pulls noticeably more through several streams). Repeats passes until at least
    /// `minimumBytes` were read; the best of `rounds` timings.
    public static func streamRate(
        _ matrices: [WeightMatrix], threads: Int, minimumBytes: Int = 2 << 30, rounds: Int = 3
    ) -> Double {
        let total = matrices.reduce(0) { $0 + $1.byteCount }
        guard total > 0 else { return 0 }
        let passes = max(1, (minimumBytes + total - 1) / total)
        var best = 0.0
        let sink = LockedSum<UInt64>(0) { $0 &+ $1 }
        for streams in [1, 2, 4] {
            for _ in 0..<rounds {
                let start = DispatchTime.now()
                WorkerPool.shared(threads: threads).run(threads) { t in
                    var acc: UInt64 = 0
                    for _ in 0..<passes {
                        for m in matrices {
                            let count = m.data.count, begin = count * t / threads, end = count * (t + 1) / threads
                            acc &+= m.data.withUnsafeBytes { raw in
                                let base = raw.baseAddress! + begin
                                let share = end - begin, part = share / streams
                                return Kernels.touch(base, stride: part, streams: streams, count: part)
                                    &+ Kernels.touch(base + streams * part, count: share - streams * part)
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
                        WorkerPool.shared(threads: threads).run(threads) { t in
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

    /// Int8 multiply-adds per second that `threads` threads retire together through the product
    /// instruction of the 8-bit kernels' `path` for `type` (each thread timed at once, the rates
    /// summed): the arithmetic roof of a prefill or a verified tree that runs those kernels. Nil
    /// where the products of `type` take no 8-bit path with such an instruction (the reference).
    public static func int8MultiplyAddRate(for type: QuantType, threads: Int) -> Double? {
        let total = LockedSum(0.0, +)
        WorkerPool.shared(threads: threads).run(threads) { _ in
            total.add(Kernels.int8PeakRate(for: type, seconds: 0.1) ?? 0)
        }
        return total.value > 0 ? total.value : nil
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// A total that worker threads add to: the benchmark reads' checksums (kept observable so the
/// compiler cannot drop the reads) and the threads' measured rates.
private final class LockedSum<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var total: Value
    private let combine: (Value, Value) -> Value

    init(_ initial: Value, _ combine: @escaping (Value, Value) -> Value) {
        total = initial
        self.combine = combine
    }

    func add(_ x: Value) {
        lock.lock()
        total = combine(total, x)
        lock.unlock()
    }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return total
    }
}
