internal import CPlatform
import Dispatch
import Foundation
import Synchronization

/// Parallel loops on threads that stay awake between jobs (CPlatform's workers.c).
///
/// The engine runs one parallel loop per matrix product, about 90 per decoded token, each a
/// fraction of a millisecond, so waking sleeping threads for each would cost a visible share of
/// decoding. The pool's workers spin for a little while after a job before they sleep. One pool
/// per thread count, created on first use and kept for the life of the process.
public final class WorkerPool: @unchecked Sendable {
    // Owned for the life of the process (pools are never destroyed).
    private let pool: OpaquePointer?
    public let threads: Int

    private init(threads: Int) {
        self.threads = threads
        pool = threads > 1 ? cplatform_pool_create(threads - 1) : nil
    }

    /// The cores this process may run on.
    public static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    private static let pools = Mutex<[Int: WorkerPool]>([:])

    /// The pool of `threads` threads (the caller counts as one), never more than the cores: a
    /// worker beyond them would spin on a core another worker needs (`--threads 64` on two cores
    /// ran 10× slower).
    public static func shared(threads: Int) -> WorkerPool {
        let n = max(1, min(threads, cores))
        return pools.withLock { pools in
            if let p = pools[n] { return p }
            let p = WorkerPool(threads: n)
            pools[n] = p
            return p
        }
    }

    /// Runs body(0) … body(tasks − 1) across the pool's threads and returns when all are done.
    /// When another job holds the pool (two models decoding at once), the tasks go to
    /// `DispatchQueue.concurrentPerform` instead.
    public func run(_ tasks: Int, _ body: @Sendable (Int) -> Void) {
        guard tasks > 1, let pool else {
            for i in 0..<max(tasks, 0) { body(i) }
            return
        }
        let ran = withoutActuallyEscaping(body) { escapable -> Bool in
            var task = escapable
            return withUnsafeMutablePointer(to: &task) { context in
                cplatform_pool_run(
                    pool, tasks,
                    { context, index in
                        context!.assumingMemoryBound(to: (@Sendable (Int) -> Void).self).pointee(index)
                    }, context) != 0
            }
        }
        if !ran { DispatchQueue.concurrentPerform(iterations: tasks, execute: body) }
    }
}
