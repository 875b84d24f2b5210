import AccountStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PBAuthMetrics
import PBAuthProtocol
import PerspectiveBroker
import ServiceLifecycle

/// `pbauth master` as the services of one `ServiceGroup`, one per long-running job:
/// the activity writer, the watch on broker principals, then the PB listener. The group shuts them down in reverse order
/// on SIGTERM or SIGINT: the listener stops accepting and lets calls in flight finish
/// (for at most `shutdown_grace`), then the writer writes what is pending and closes the
/// database.
public struct Master: Sendable {
    /// The services, in the order the group starts them.
    public let services: [any Service]
    /// The TLS listener's certificate and key; `nil` without `tls_listen`.
    public let tls: TLSServerContext?
    /// What SIGHUP reloads: the TLS listener's files.
    public var tlsReloadables: [any TLSReloadable] { tls.map { [$0] } ?? [] }
    private let checker: MasterChecker
    private let server: PBServer
    private let throttle: LoginThrottle
    private let databasePath: String

    /// Prepares the database (creates and migrates a missing one, refuses one with pending
    /// migrations, records the PB password login setting) and opens it on its threads; reads
    /// the TLS certificate and key. Throws when the master cannot start; nothing listens yet.
    public init(configuration: MasterConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        // The TLS files first: a bad certificate or key is refused before the database is touched.
        tls = try configuration.tls.listen.map { _ in try TLSServerContext(settings: configuration.tls, logger: logger) }
        let listeners = BrokerListenerService.listeners(plain: configuration.listen, tls: configuration.tls.listen, context: tls)
        guard let first = listeners.first else { throw DaemonError.noListener }
        configuration.connections.raiseOpenFileLimit(logger: logger)
        try Self.prepareDatabase(configuration, logger: logger)
        let checker = try MasterChecker(configuration: configuration)
        let throttle = LoginThrottle(rates: configuration.connections.throttleRates, logger: logger)
        let rootMethods = MasterRootMethods(checker: checker, allowRemote: configuration.allowRemoteAuthenticate,
                                            throttle: throttle, logger: logger)
        let root = BrokerPortal.root(checker: checker, logger: logger, throttle: throttle, fallback: rootMethods)
        let server = PBServer(configuration: configuration.connections.serverConfiguration(first.endpoint),
                              group: group, logger: logger, root: { _ in root })
        logger.info("master settings", metadata: [
            "database": "\(configuration.database)", "pb_password_login": "\(configuration.pbPasswordLogin)",
        ])
        self.checker = checker
        self.server = server
        self.throttle = throttle
        databasePath = configuration.database
        services = [
            ActivityFlushService(checker: checker, interval: .milliseconds(configuration.flushIntervalMilliseconds), logger: logger),
            BrokerPrincipalWatchService(checker: checker, logger: logger),
            RetentionService(pool: checker.pool, retention: Int64(configuration.sessionRetention),
                             idleLimit: configuration.idleLimit, logger: logger),
            BrokerListenerService(server: server, role: "master", listeners: listeners,
                                  shutdownGrace: .seconds(configuration.shutdownGraceSeconds), logger: logger),
        ]
    }

    /// Ready when the database is open and writable: a write transaction is begun, a row
    /// written and rolled back, on a database thread (never on an event loop).
    public func readiness() async -> (ready: Bool, checks: [String: String]) {
        do {
            try await checker.pool.write { store in try store.checkWritable() }
            return (true, ["database": "writable"])
        } catch let error as WorkerPoolError {
            if case .overloaded = error { return (false, ["database": "queue full"]) }
            return (false, ["database": "closed"])
        } catch {
            return (false, ["database": "not writable"])
        }
    }

    /// The master's levels and running totals, for the metrics: connections, refusals,
    /// throttled logins, the worker pools, pending activity, locked accounts (one quick read
    /// on a database thread) and the sizes of the database and its write-ahead log.
    public func metricsSample() async -> MetricsSample {
        var sample = MetricsSample(server: server, throttle: throttle, tls: tls)
        let queued = checker.pool.queuedJobs
        let waits = checker.pool.takeWaitStatistics()
        sample.workers = [
            "database": MetricsSample.Workers(queued: queued.database, jobs: waits.database.jobs,
                                              waitNanoseconds: waits.database.waitNanoseconds,
                                              maxWaitNanoseconds: waits.database.maxWaitNanoseconds),
            "scrypt": MetricsSample.Workers(queued: queued.passwords, jobs: waits.passwords.jobs,
                                            waitNanoseconds: waits.passwords.waitNanoseconds,
                                            maxWaitNanoseconds: waits.passwords.maxWaitNanoseconds),
        ]
        sample.activityPending = checker.activity.pendingCount
        let now = Int64(Date().timeIntervalSince1970)
        sample.accountsLocked = try? await checker.pool.read { store in try store.lockedAccountCount(now: now) }
        sample.databaseBytes = Self.fileSize(databasePath)
        sample.walBytes = Self.fileSize(databasePath + "-wal") ?? 0
        return sample
    }

    private static func fileSize(_ path: String) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.int64Value
    }

    /// Creates and migrates a missing database (the first start); refuses an
    /// existing one with pending migrations; records the PB password login setting.
    private static func prepareDatabase(_ configuration: MasterConfiguration, logger: Logger) throws {
        let store: AccountStore
        // An empty file is a database another process (a `pbauth migrate` starting at the same
        // moment) has only just created: it is new, not one with pending migrations.
        let size = (try? FileManager.default.attributesOfItem(atPath: configuration.database)[.size] as? Int) ?? nil
        if let size, size > 0 {
            store = try AccountStore.open(databasePath: configuration.database, keyPath: configuration.resolvedKeyFile,
                                          configuration: configuration.storeConfiguration)
        } else {
            logger.notice("creating the database", metadata: ["database": "\(configuration.database)"])
            store = try AccountStore.createOrMigrate(databasePath: configuration.database, keyPath: configuration.resolvedKeyFile,
                                                     configuration: configuration.storeConfiguration)
        }
        defer { store.close() }
        try store.setPBPasswordLogin(enabled: configuration.pbPasswordLogin)
    }
}

/// Writes coalesced `last_seen` updates and login audit records every interval, or sooner
/// when enough wait; on graceful shutdown (after the listener stopped) writes what is left
/// and closes the database.
struct ActivityFlushService: Service {
    let checker: MasterChecker
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let checker = self.checker
        let interval = self.interval
        let logger = self.logger
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    checker.requestFlush()
                }
            }
            tasks.addTask {
                // One flush at a time: on the timer, or sooner when enough records wait.
                for await _ in checker.flushRequests {
                    if Task.isCancelled { break }
                    do {
                        let dropped = try await checker.flush()
                        if dropped > 0 { logger.warning("login audit records dropped: too many waited to be written", metadata: ["dropped": "\(dropped)"]) }
                    } catch {
                        logger.error("could not write session activity and audit records")
                    }
                }
            }
            try? await gracefulShutdown()
            tasks.cancelAll()
        }
        checker.activity.closeFailureWindow()
        await checker.close()
        logger.notice("pbauth master stopped")
    }
}

/// Retention: deletes sessions `retention` seconds after they ended (expired, revoked, or
/// idle past the limit), every `interval`, in small batches on the database threads, each
/// its own short transaction, so that logins wait for at most one batch.
struct RetentionService: Service {
    let pool: AccountStorePool
    let retention: Int64
    let idleLimit: Int64?
    let logger: Logger
    /// Sessions deleted per transaction.
    static let batch = 500
    /// Batches per round at most: a backlog is worked off over several rounds.
    static let batchesPerRound = 200

    /// Every five minutes, sooner for a short retention (but at most once a second).
    var interval: Duration { .seconds(min(300, max(1, retention / 2))) }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await sweep()
            }
        }
    }

    /// One round of deletions; answers how many sessions went.
    @discardableResult
    func sweep(now: Int64 = Int64(Date().timeIntervalSince1970)) async -> Int {
        let cutoff = now - retention
        let idleLimit = self.idleLimit
        var total = 0
        for _ in 0..<Self.batchesPerRound {
            if Task.isCancelled { break }
            let deleted: Int
            do {
                deleted = try await pool.write { store in
                    try store.deleteEndedSessions(endedBefore: cutoff, idleLimit: idleLimit, limit: Self.batch)
                }
            } catch {
                logger.warning("retention: could not delete ended sessions; will try again", metadata: ["error": "\(error)"])
                break
            }
            total += deleted
            if deleted < Self.batch { break }
            await Task.yield()
        }
        if total > 0 {
            PBAuthMetrics.sessionsDeleted(total)
            logger.info("retention: deleted ended sessions", metadata: ["sessions": "\(total)"])
        }
        return total
    }
}
