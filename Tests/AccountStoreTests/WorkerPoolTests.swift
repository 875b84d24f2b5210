import Foundation
import Synchronization
import Testing

@testable import AccountStore

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

    private static func pool(threads: Int, maxQueuedJobs: Int = 4096) throws -> WorkerPool<ThreadTag> {
        let next = Atomic<Int>(0)
        return try WorkerPool(name: "test", count: threads, maxQueuedJobs: maxQueuedJobs,
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

    @Test func aFullQueueRefusesNewWorkAtOnceAndUnboundedWorkStillQueues() async throws {
        let pool = try Self.pool(threads: 1, maxQueuedJobs: 3)
        defer { pool.shutdown() }
        let release = Atomic<Bool>(false)
        let running = Atomic<Bool>(false)
        // One job holds the only thread; three wait; the fifth is refused.
        let blocker = Task {
            try await pool.run { _ in
                running.store(true, ordering: .relaxed)
                while !release.load(ordering: .relaxed) { usleep(1_000) }
            }
        }
        while !running.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(1)) }
        let waiting = (0..<3).map { index in Task { try await pool.run { _ in index } } }
        while pool.queuedJobs < 3 { try await Task.sleep(for: .milliseconds(1)) }
        await #expect(throws: WorkerPoolError.self) { try await pool.run { _ in -1 } }
        await #expect(throws: WorkerPoolError.self) { try await pool.read { _ in -1 } }
        // The daemon's own bookkeeping is never refused.
        let bookkeeping = Task { try await pool.run(bounded: false) { _ in 99 } }
        release.store(true, ordering: .relaxed)
        try await blocker.value
        var results: [Int] = []
        for task in waiting { results.append(try await task.value) }
        #expect(results == [0, 1, 2])
        #expect(try await bookkeeping.value == 99)
        // With room again, work is taken.
        #expect(try await pool.run { _ in 7 } == 7)
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
        // Slow jobs: the queue grows past what one thread keeps up with.
        #expect(try await Self.threadsUsed(by: pool, jobs: 64, each: .milliseconds(2)) > 1)
    }

    /// Submits `jobs` jobs at once, each busy for `each`; answers how many threads ran them.
    private static func threadsUsed(by pool: WorkerPool<ThreadTag>, jobs: Int, each: Duration) async throws -> Int {
        let used = UsedThreads()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for _ in 0..<jobs {
                tasks.addTask {
                    try await pool.run { tag in
                        used.insert(tag.index)
                        let until = ContinuousClock.now.advanced(by: each)
                        while ContinuousClock.now < until {}
                    }
                }
            }
            try await tasks.waitForAll()
        }
        return used.count
    }

    /// What a batching pool saw: how many batches ran, and whether a job runs inside one.
    final class BatchLog: Sendable {
        private let state = Mutex<(batches: Int, inBatch: Bool)>((0, false))
        func begin() { state.withLock { $0.batches += 1; $0.inBatch = true } }
        func end() { state.withLock { $0.inBatch = false } }
        var inBatch: Bool { state.withLock { $0.inBatch } }
        var batches: Int { state.withLock { $0.batches } }
    }

    @Test func readsQueuedTogetherRunAsOneBatchAndWritesNeverDo() async throws {
        let log = BatchLog()
        let gate = Gate()
        let pool = try WorkerPool<ThreadTag>(
            name: "test", count: 1, makeResource: { ThreadTag(index: 0) }, close: { _ in },
            readBatch: { _, jobs in
                log.begin()
                jobs()
                log.end()
            })
        defer { pool.shutdown() }
        // The only thread is held by a first job while 10 reads and a write queue up.
        let first = Task { try await pool.run { _ in gate.wait() } }
        try await Task.sleep(for: .milliseconds(50))
        let results = try await withThrowingTaskGroup(of: (Bool, Bool).self) { tasks in
            for _ in 0..<10 {
                tasks.addTask { (true, try await pool.read { _ in log.inBatch }) }
            }
            try await Task.sleep(for: .milliseconds(50))
            tasks.addTask { (false, try await pool.run { _ in log.inBatch }) }
            try await Task.sleep(for: .milliseconds(50))
            gate.open()
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        try await first.value
        #expect(results.filter { $0.0 }.allSatisfy { $0.1 }, "every read ran inside a batch")
        #expect(results.filter { !$0.0 }.allSatisfy { !$0.1 }, "the write ran alone")
        #expect(log.batches == 1)
    }

    /// Blocks a pool thread until opened, for at most 10 s (a test that fails before opening it must still end).
    final class Gate: Sendable {
        private let isOpen = Mutex(false)
        func open() { isOpen.withLock { $0 = true } }
        func wait() {
            for _ in 0..<10_000 {
                if isOpen.withLock({ $0 }) { return }
                usleep(1_000)
            }
        }
    }

    @Test func aPoolForLongJobsRunsTwoAtOnceOnTwoThreads() async throws {
        let next = Atomic<Int>(0)
        let pool = try WorkerPool<ThreadTag>(
            name: "test", count: 2, jobsPerAwakeThread: 0,
            makeResource: { ThreadTag(index: next.wrappingAdd(1, ordering: .relaxed).oldValue) }, close: { _ in })
        defer { pool.shutdown() }
        #expect(try await Self.threadsUsed(by: pool, jobs: 2, each: .milliseconds(200)) == 2)
    }

    @Test func aStoppedPoolRefusesNewJobs() async throws {
        let pool = try Self.pool(threads: 1)
        pool.shutdown()
        await #expect(throws: WorkerPoolError.self) { try await pool.run { _ in 1 } }
    }
}
