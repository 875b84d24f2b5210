import NIOCore

/// A Swift `TaskExecutor` that runs jobs on one NIO event loop.
///
/// A task that prefers it runs its synchronous stretches on the loop's thread and
/// resumes there after every `await`, so a remote method and the broker that answers
/// it share a thread: no hop to the global executor and back for each call. Work
/// that blocks (SQLite, scrypt) must still go to a thread pool.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop that runs the jobs.
    public let eventLoop: any EventLoop

    /// An executor for `eventLoop`.
    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Runs `job` on the event loop; a job enqueued after the loop shut down is dropped.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
