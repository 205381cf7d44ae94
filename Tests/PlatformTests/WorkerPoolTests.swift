import Dispatch
import Foundation
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

    /// The invariant the race fixed in workers.c broke (a worker late from one job took a task of
    /// the next, so an index ran twice and the caller waited forever): task counts that grow and
    /// shrink from job to job, with a thread spinning beside the pool so that workers are
    /// preempted mid-job. Every job must run each of its indices exactly once and none beyond; a
    /// hang fails by the limit. The race's window is a few instructions: with the old workers.c
    /// this test passed in three runs, so it guards the invariant, it does not reproduce that bug.
    @Test(.timeLimit(.minutes(1))) func changingTaskCountsUnderLoad() {
        let pool = WorkerPool.shared(threads: 2)
        let counts = Counts(16)
        let stop = Atomic<Bool>(false)
        let spinner = Thread {
            var x: UInt64 = 1
            while !stop.load(ordering: .relaxed) { x = x &* 6364136223846793005 &+ 1 }
            _ = x
        }
        spinner.start()
        defer { stop.store(true, ordering: .relaxed) }
        var state: UInt64 = 12345
        var bad = 0
        for _ in 0..<100_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let tasks = 2 + Int(state >> 60)  // 2…17, changing every job
            let n = min(tasks, 16)
            pool.run(n) { i in counts.values[i] += 1 }
            for i in 0..<16 where counts.values[i] != (i < n ? 1 : 0) { bad += 1 }
            for i in 0..<16 { counts.values[i] = 0 }
        }
        #expect(bad == 0, "\(bad) indices ran other than once")
    }
}
