import Dispatch
import Platform
import Synchronization
import Testing

/// The spinning worker pool: every task runs exactly once per job, over many back-to-back jobs
/// (the decode loop's pattern), and callers that find the pool busy still get their tasks run.
@Suite struct WorkerPoolTests {
    final class Counts: @unchecked Sendable {
        // Each index is written by the one task that owns it.
        let values: UnsafeMutableBufferPointer<Int>
        init(_ n: Int) { values = .allocate(capacity: n); values.initialize(repeating: 0) }
        deinit { values.deallocate() }
    }

    @Test(arguments: [1, 2, 3, 4])
    func everyTaskRunsOncePerJob(_ threads: Int) {
        let pool = WorkerPool.shared(threads: threads)
        let tasks = 7, jobs = 3000
        let counts = Counts(tasks)
        for _ in 0..<jobs {
            pool.run(tasks) { i in counts.values[i] += 1 }
        }
        #expect(Array(counts.values) == Array(repeating: jobs, count: tasks))
    }

    @Test func concurrentCallersAllFinish() {
        let callers = 4, tasks = 5, jobs = 500
        let total = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: callers) { _ in
            for _ in 0..<jobs {
                WorkerPool.shared(threads: 2).run(tasks) { _ in total.add(1, ordering: .relaxed) }
            }
        }
        #expect(total.load(ordering: .relaxed) == callers * jobs * tasks)
    }
}
