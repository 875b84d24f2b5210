import Foundation

/// A fixed set of threads, each owning one `Resource` (an `AccountStore`
/// connection) that no other thread touches. Blocking work (SQLite, scrypt)
/// runs here so that it never blocks an event loop; the number of threads caps
/// how much of that work runs at once.
final class WorkerPool<Resource>: @unchecked Sendable {
    /// One unit of work; `readsOnly` jobs queued together may share one `readBatch`.
    private struct Job {
        let readsOnly: Bool
        /// When it was queued (`DispatchTime` nanoseconds), for the wait statistics.
        let queuedAt: UInt64
        let body: (Resource) -> Void
    }

    /// How long jobs waited for a thread: counted under the lock the queue already takes.
    private var statistics = WorkerWaitStatistics()

    // Guarded by `condition`: a queue as an array and the index of its head.
    private var jobs: [Job] = []
    private var head = 0
    private var stopping = false
    private var running = 0
    /// Threads waiting on `condition`, and signals sent to them that they have not yet woken from.
    private var waiting = 0
    private var wakesPending = 0
    private let condition = NSCondition()
    private let name: String
    /// Queued jobs per awake thread beyond which another thread is woken: a few for short
    /// jobs (a wake-up costs more than waiting for one), 0 for long ones (scrypt).
    private let jobsPerAwakeThread: Int
    /// Runs several read-only jobs as one (for a database: in one read transaction).
    private let readBatch: ((Resource, () -> Void) -> Void)?
    /// At most this many read-only jobs share one batch.
    private static var maximumReadBatch: Int { 64 }
    /// At most this many jobs wait; past it new work fails at once (`WorkerPoolError.overloaded`).
    let maxQueuedJobs: Int

    /// Starts `count` threads; each calls `makeResource` once on its own thread.
    /// Throws the first error a thread met while making its resource.
    ///
    /// `background` threads run only on processor time that nothing else wants (Linux
    /// `SCHED_IDLE`, per thread; nice 19 where that is refused), so that long work here
    /// (scrypt) gives way at once to short work elsewhere (cookie checks).
    ///
    /// `readBatch`, when given, receives read-only jobs (`read`) that were queued one after
    /// another and must run its closure exactly once, for example inside a read transaction.
    ///
    /// At most `maxQueuedJobs` jobs wait for a thread; more fail at once instead of waiting in memory.
    init(name: String, count: Int, background: Bool = false, jobsPerAwakeThread: Int = 4, maxQueuedJobs: Int = 4096,
         makeResource: @escaping @Sendable () throws -> Resource, close: @escaping @Sendable (Resource) -> Void,
         readBatch: ((Resource, () -> Void) -> Void)? = nil) throws {
        self.name = name
        self.maxQueuedJobs = max(1, maxQueuedJobs)
        self.jobsPerAwakeThread = max(0, jobsPerAwakeThread)
        self.readBatch = readBatch
        let startup = StartupGate(count: count)
        for index in 0..<count {
            let thread = Thread { [self] in
                if background { Self.runInBackground() }
                let resource: Resource
                do {
                    resource = try makeResource()
                } catch {
                    startup.report(error)
                    return
                }
                self.condition.lock()
                self.running += 1
                self.condition.unlock()
                startup.report(nil)
                self.serve(resource)
                close(resource)
                self.condition.lock()
                self.running -= 1
                self.condition.broadcast()
                self.condition.unlock()
            }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
        if let error = startup.wait() {
            shutdown()
            throw error
        }
    }

    private func serve(_ resource: Resource) {
        condition.lock()
        while true {
            while head == jobs.count && !stopping {
                waiting += 1
                condition.wait()
                waiting -= 1
                if wakesPending > 0 { wakesPending -= 1 }
            }
            if head == jobs.count && stopping { break }
            let job = jobs[head]
            head += 1
            var batch: [Job] = []
            if job.readsOnly, readBatch != nil, head < jobs.count, jobs[head].readsOnly {
                batch.append(job)
                while batch.count < Self.maximumReadBatch, head < jobs.count, jobs[head].readsOnly {
                    batch.append(jobs[head])
                    head += 1
                }
            }
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if batch.isEmpty {
                statistics.note(waitedSince: job.queuedAt, now: now)
            } else {
                for taken in batch { statistics.note(waitedSince: taken.queuedAt, now: now) }
            }
            condition.unlock()
            if let readBatch, !batch.isEmpty {
                readBatch(resource) { for job in batch { job.body(resource) } }
            } else {
                job.body(resource)
            }
            condition.lock()
        }
        condition.unlock()
    }

    /// Puts the calling thread in the background. On Linux the nice value and the
    /// scheduling policy belong to each thread: `setpriority(PRIO_PROCESS, 0, …)` and
    /// `sched_setscheduler(0, …)` change the calling thread's only.
    private static func runInBackground() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        var parameter = sched_param(sched_priority: 0)
        _ = sched_setscheduler(0, schedIdle, &parameter)
        #endif
    }

    /// Linux's SCHED_IDLE (5), which Glibc's Swift overlay does not export.
    private static var schedIdle: Int32 { 5 }

    /// Runs `body` on one of the pool's threads with that thread's resource.
    /// Throws `WorkerPoolError.overloaded` at once when `maxQueuedJobs` already wait, unless
    /// `bounded` is false (for the daemon's own bookkeeping, which must not be refused).
    func run<Result: Sendable>(bounded: Bool = true, _ body: @escaping @Sendable (Resource) throws -> Result) async throws -> Result {
        try await submit(readsOnly: false, bounded: bounded, body)
    }

    /// Runs `body`, which only reads, on one of the pool's threads; read-only jobs queued
    /// together run as one batch (see `readBatch`). Bounded as `run`.
    func read<Result: Sendable>(_ body: @escaping @Sendable (Resource) throws -> Result) async throws -> Result {
        try await submit(readsOnly: true, bounded: true, body)
    }

    /// The wait statistics since start; the maximum starts over at each call.
    func takeWaitStatistics() -> WorkerWaitStatistics {
        condition.lock()
        defer {
            statistics.maxWaitNanoseconds = 0
            condition.unlock()
        }
        return statistics
    }

    /// How many jobs wait for a thread.
    var queuedJobs: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    private func submit<Result: Sendable>(readsOnly: Bool, bounded: Bool,
                                          _ body: @escaping @Sendable (Resource) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, Error>) in
            condition.lock()
            guard !stopping else {
                condition.unlock()
                continuation.resume(throwing: WorkerPoolError.stopped(name))
                return
            }
            guard !bounded || jobs.count - head < maxQueuedJobs else {
                condition.unlock()
                continuation.resume(throwing: WorkerPoolError.overloaded(name))
                return
            }
            jobs.append(Job(readsOnly: readsOnly, queuedAt: DispatchTime.now().uptimeNanoseconds) { resource in
                continuation.resume(with: Swift.Result { try body(resource) })
            })
            wakeIfNeeded()
            condition.unlock()
        }
    }

    /// A thread that is awake takes queued jobs one after another; waking another costs a
    /// context switch (and on a busy machine, a wait for a processor), which pays only when
    /// the queue outgrows the threads already awake. Called with `condition` locked.
    private func wakeIfNeeded() {
        let awake = running - waiting + wakesPending
        guard waiting > wakesPending, awake == 0 || jobs.count - head > awake * jobsPerAwakeThread else { return }
        wakesPending += 1
        condition.signal()
    }



    /// Finishes the jobs already queued, then stops the threads and closes their resources; waits for that.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }
}

/// How long the jobs of a worker pool waited for a thread.
public struct WorkerWaitStatistics: Sendable, Equatable {
    /// Jobs a thread took since start.
    public var jobs: Int64 = 0
    /// Nanoseconds those jobs waited in all.
    public var waitNanoseconds: Int64 = 0
    /// The longest wait of one job since the previous `takeWaitStatistics`.
    public var maxWaitNanoseconds: Int64 = 0

    mutating func note(waitedSince queuedAt: UInt64, now: UInt64) {
        let waited = Int64(clamping: now >= queuedAt ? now - queuedAt : 0)
        jobs &+= 1
        waitNanoseconds &+= waited
        if waited > maxWaitNanoseconds { maxWaitNanoseconds = waited }
    }
}

/// Why work could not be run on the store's threads.
public enum WorkerPoolError: Error, CustomStringConvertible {
    /// The pool is shutting down.
    case stopped(String)
    /// The pool's queue is full: the work was refused instead of waiting in memory.
    case overloaded(String)

    /// A sentence for the log.
    public var description: String {
        switch self {
        case .stopped(let name): "the \(name) threads are shutting down"
        case .overloaded(let name): "the \(name) queue is full"
        }
    }
}

/// Waits until every thread of a new pool has made its resource (or failed to).
private final class StartupGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var remaining: Int
    private var firstError: Error?

    init(count: Int) { remaining = count }

    func report(_ error: Error?) {
        condition.lock()
        if firstError == nil { firstError = error }
        remaining -= 1
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Error? {
        condition.lock()
        defer { condition.unlock() }
        while remaining > 0 { condition.wait() }
        return firstError
    }
}
