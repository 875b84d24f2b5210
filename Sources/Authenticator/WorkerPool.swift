import Foundation

/// A fixed set of threads, each owning one `Resource` (an `AccountStore`
/// connection) that no other thread touches. Blocking work (SQLite, scrypt)
/// runs here so that it never blocks an event loop; the number of threads caps
/// how much of that work runs at once.
///
/// The pool is also a `TaskExecutor`: a task that prefers it runs on these
/// threads, and its `run { resource in … }` calls then use the current thread's
/// resource at once instead of handing the work to another thread and back.
/// That is how the master answers a cookie check with one thread hop each way.
final class WorkerPool<Resource>: TaskExecutor, @unchecked Sendable {
    private typealias Job = (Resource) -> Void

    // Guarded by `condition`: a queue as an array and the index of its head.
    private var jobs: [Job] = []
    private var head = 0
    private var stopping = false
    private var running = 0
    private let condition = NSCondition()
    private let name: String
    /// Each thread's resource, for `run` called on one of the pool's own threads.
    private let currentResource: pthread_key_t

    /// Starts `count` threads; each calls `makeResource` once on its own thread.
    /// Throws the first error a thread met while making its resource.
    ///
    /// `niceness` above 0 lowers the threads' scheduling priority (Linux: per thread), so
    /// that long work here (scrypt) yields the processor to short work elsewhere (cookie checks).
    init(name: String, count: Int, niceness: Int32 = 0,
         makeResource: @escaping @Sendable () throws -> Resource, close: @escaping @Sendable (Resource) -> Void) throws {
        self.name = name
        var key = pthread_key_t()
        guard pthread_key_create(&key, nil) == 0 else { throw WorkerPoolError.cannotStart(name) }
        currentResource = key
        let startup = StartupGate(count: count)
        for index in 0..<count {
            let thread = Thread { [self] in
                if niceness != 0 { Self.lowerPriority(by: niceness) }
                let resource: ResourceBox<Resource>
                do {
                    resource = ResourceBox(try makeResource())
                } catch {
                    startup.report(error)
                    return
                }
                pthread_setspecific(currentResource, Unmanaged.passUnretained(resource).toOpaque())
                condition.lock()
                running += 1
                condition.unlock()
                startup.report(nil)
                serve(resource.value)
                pthread_setspecific(currentResource, nil)
                close(resource.value)
                condition.lock()
                running -= 1
                condition.broadcast()
                condition.unlock()
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
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count && stopping { break }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job(resource)
            condition.lock()
        }
        condition.unlock()
    }

    /// Queues `job`; false when the pool is shutting down.
    private func submit(_ job: @escaping Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Lowers the calling thread's priority. On Linux the nice value belongs to each
    /// thread, and `setpriority(PRIO_PROCESS, 0, …)` changes the calling thread's only.
    private static func lowerPriority(by niceness: Int32) {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        #endif
    }

    /// Runs `body` with a thread's resource: at once when called on one of the
    /// pool's threads (a task that prefers this pool), else on the next free one.
    func run<Result: Sendable>(_ body: @escaping @Sendable (Resource) throws -> Result) async throws -> Result {
        if let pointer = pthread_getspecific(currentResource) {
            return try body(Unmanaged<ResourceBox<Resource>>.fromOpaque(pointer).takeUnretainedValue().value)
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, Error>) in
            let queued = submit { resource in
                continuation.resume(with: Swift.Result { try body(resource) })
            }
            if !queued { continuation.resume(throwing: WorkerPoolError.stopped(name)) }
        }
    }

    /// Runs a task's job on one of the pool's threads (`TaskExecutor`). Once the pool
    /// is shutting down, jobs go to the global executor so that no task is left hanging.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let queued = submit { _ in
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
        if !queued { globalConcurrentExecutor.enqueue(job) }
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

/// A thread's resource, referenced from thread-local storage.
private final class ResourceBox<Value> {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Why work could not be run.
enum WorkerPoolError: Error, CustomStringConvertible {
    /// The pool is shutting down.
    case stopped(String)
    /// The operating system refused what the pool needs (thread-local storage).
    case cannotStart(String)

    var description: String {
        switch self {
        case .stopped(let name): "the \(name) threads are shutting down"
        case .cannotStart(let name): "cannot start the \(name) threads"
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
