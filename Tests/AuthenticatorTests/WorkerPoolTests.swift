import Synchronization
import Testing

@testable import Authenticator

/// The pool wakes as few threads as it can; no job may be left behind by that.
@Suite("Worker pool", .timeLimit(.minutes(1)))
struct WorkerPoolTests {
    /// A resource that says which thread of the pool ran a job.
    final class ThreadTag: Sendable {
        let index: Int
        init(index: Int) { self.index = index }
    }

    /// The threads that ran some job.
    final class UsedThreads: Sendable {
        private let indices = Mutex<Set<Int>>([])
        func insert(_ index: Int) { indices.withLock { _ = $0.insert(index) } }
        var count: Int { indices.withLock { $0.count } }
    }

    private static func pool(threads: Int) throws -> WorkerPool<ThreadTag> {
        let next = Atomic<Int>(0)
        return try WorkerPool(name: "test", count: threads,
                              makeResource: { ThreadTag(index: next.wrappingAdd(1, ordering: .relaxed).oldValue) },
                              close: { _ in })
    }

    @Test func everyJobRunsWhenManyTasksSubmitAtOnce() async throws {
        let pool = try Self.pool(threads: 3)
        defer { pool.shutdown() }
        let total = try await withThrowingTaskGroup(of: Int.self) { tasks in
            for job in 0..<2_000 {
                tasks.addTask { try await pool.run { _ in job } }
            }
            return try await tasks.reduce(0, +)
        }
        #expect(total == (0..<2_000).reduce(0, +))
    }

    @Test func aJobSubmittedWhileEveryThreadSleepsStillRuns() async throws {
        let pool = try Self.pool(threads: 2)
        defer { pool.shutdown() }
        for round in 0..<50 {
            // Long enough for both threads to go back to waiting between rounds.
            try await Task.sleep(for: .milliseconds(2))
            #expect(try await pool.run { _ in round } == round)
        }
    }

    @Test func aLongQueueWakesMoreThanOneThread() async throws {
        let pool = try Self.pool(threads: 3)
        defer { pool.shutdown() }
        let used = UsedThreads()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for _ in 0..<64 {
                tasks.addTask {
                    try await pool.run { tag in
                        used.insert(tag.index)
                        // Slow jobs: the queue grows past what one thread keeps up with.
                        let until = ContinuousClock.now.advanced(by: .milliseconds(2))
                        while ContinuousClock.now < until {}
                    }
                }
            }
            try await tasks.waitForAll()
        }
        #expect(used.count > 1)
    }

    @Test func aStoppedPoolRefusesNewJobs() async throws {
        let pool = try Self.pool(threads: 1)
        pool.shutdown()
        await #expect(throws: WorkerPoolError.self) { try await pool.run { _ in 1 } }
    }
}
