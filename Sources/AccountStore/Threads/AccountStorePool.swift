/// The account store on threads of its own, in the manner of GRDB's `DatabasePool`: an
/// async front end whose work never runs on the caller's thread (an event loop, a task).
///
/// - `read` runs on a database thread, and reads queued together share one read
///   transaction (one snapshot), which costs less than a transaction each;
/// - `write` runs on a database thread in its own statements or transactions;
/// - `hashPassword` runs on the password threads, which take only processor time that
///   nothing else wants (Linux `SCHED_IDLE`), so that scrypt gives way to cookie checks.
///
/// Each thread owns one `AccountStore` (one SQLite connection) that no other thread
/// touches. Every queue is bounded: past its limit, work fails at once with
/// `WorkerPoolError.overloaded` instead of waiting in memory.
public final class AccountStorePool: Sendable {
    /// How many threads, and how much work may wait for them.
    public struct Threads: Sendable, Equatable {
        /// Threads (each with its own connection) for `read` and `write`.
        public var database: Int
        /// Threads for `hashPassword`; the cap on scrypt computations at once.
        public var passwords: Int
        /// Jobs that may wait for a database thread.
        public var databaseQueue: Int
        /// Jobs that may wait for a password thread.
        public var passwordQueue: Int

        /// Creates a thread plan.
        public init(database: Int = 2, passwords: Int = 1, databaseQueue: Int = 4_096, passwordQueue: Int = 32) {
            self.database = database
            self.passwords = passwords
            self.databaseQueue = databaseQueue
            self.passwordQueue = passwordQueue
        }
    }

    private let database: WorkerPool<AccountStore>
    private let passwords: WorkerPool<AccountStore>
    /// Whether the database may have changed since a read: attached by the initialiser that
    /// opens a database file, else it answers nil (nothing read may be trusted later).
    public let changes: DatabaseChangeWatch

    /// Opens one store per thread with `open` (on that thread). Throws the first error met.
    public init(threads: Threads, open: @escaping @Sendable () throws -> AccountStore) throws {
        let changes = DatabaseChangeWatch()
        self.changes = changes
        database = try WorkerPool(name: "database", count: threads.database, maxQueuedJobs: threads.databaseQueue,
                                  makeResource: open, close: { $0.close() },
                                  readBatch: { store, jobs in Self.inOneSnapshot(store, stamp: changes.stamp(), jobs) })
        do {
            // Every queued hash wakes a sleeping thread: a hash is long, parallelism up to the cap is the point.
            passwords = try WorkerPool(name: "scrypt", count: threads.passwords, background: true, jobsPerAwakeThread: 0,
                                       maxQueuedJobs: threads.passwordQueue, makeResource: open, close: { $0.close() })
        } catch {
            database.shutdown()
            throw error
        }
    }

    /// Opens the pbauth database at `databasePath` (fully migrated) on every thread.
    public convenience init(databasePath: String, keyPath: String? = nil, configuration: StoreConfiguration = .init(),
                            threads: Threads = Threads()) throws {
        try self.init(threads: threads) {
            try AccountStore.open(databasePath: databasePath, keyPath: keyPath, configuration: configuration)
        }
        // Every thread has its connection open: the wal-index exists and keeps its size.
        changes.attach(databasePath: databasePath)
    }

    /// Runs `body`, which must only read, on a database thread, in a read transaction that it
    /// may share with other reads queued with it.
    public func read<Result: Sendable>(_ body: @escaping @Sendable (AccountStore) throws -> Result) async throws -> Result {
        try await database.read(body)
    }

    /// Runs `body` on a database thread. With `bounded` false the job is queued even past the
    /// limit (for the daemon's own bookkeeping, which must not be refused).
    public func write<Result: Sendable>(bounded: Bool = true,
                                        _ body: @escaping @Sendable (AccountStore) throws -> Result) async throws -> Result {
        try await database.run(bounded: bounded, body)
    }

    /// Runs `body`, which hashes a password (scrypt), on a password thread.
    public func hashPassword<Result: Sendable>(_ body: @escaping @Sendable (AccountStore) throws -> Result) async throws -> Result {
        try await passwords.run(body)
    }

    /// Jobs waiting for a database thread and for a password thread.
    public var queuedJobs: (database: Int, passwords: Int) { (database.queuedJobs, passwords.queuedJobs) }

    /// How long jobs waited for a database thread and for a password thread (the maxima start over at each call).
    public func takeWaitStatistics() -> (database: WorkerWaitStatistics, passwords: WorkerWaitStatistics) {
        (database.takeWaitStatistics(), passwords.takeWaitStatistics())
    }

    /// Finishes what is queued, stops the threads and closes every connection.
    public func close() {
        changes.stopAnswering()
        database.shutdown()
        passwords.shutdown()
        changes.release()
    }

    /// Runs a batch of read-only jobs in one read transaction of `store`, whose
    /// `snapshotStamp` is then `stamp` (taken before the transaction began); if the
    /// transaction cannot be opened, the jobs still run (each statement then reads on its own).
    static func inOneSnapshot(_ store: AccountStore, stamp: DatabaseChangeWatch.Stamp?, _ jobs: () -> Void) {
        var ran = false
        do {
            try store.readSnapshot {
                ran = true
                store.snapshotStamp = stamp
                defer { store.snapshotStamp = nil }
                jobs()
            }
        } catch {
            if !ran { jobs() }
        }
    }
}
