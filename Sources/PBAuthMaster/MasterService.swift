import AccountStore
import Foundation
import Logging
import NIOCore
import NIOPosix
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

    /// Prepares the database (creates and migrates a missing one, refuses one with pending
    /// migrations, records the PB password login setting) and opens it on its threads.
    /// Throws when the master cannot start; nothing listens yet.
    public init(configuration: MasterConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        configuration.connections.raiseOpenFileLimit(logger: logger)
        try Self.prepareDatabase(configuration, logger: logger)
        let checker = try MasterChecker(configuration: configuration)
        let throttle = LoginThrottle(rates: configuration.connections.throttleRates, logger: logger)
        let rootMethods = MasterRootMethods(checker: checker, allowRemote: configuration.allowRemoteAuthenticate,
                                            throttle: throttle, logger: logger)
        let root = BrokerPortal.root(checker: checker, logger: logger, throttle: throttle, fallback: rootMethods)
        let server = PBServer(configuration: configuration.connections.serverConfiguration(configuration.listen),
                              group: group, logger: logger, root: { _ in root })
        logger.info("master settings", metadata: [
            "database": "\(configuration.database)", "pb_password_login": "\(configuration.pbPasswordLogin)",
        ])
        services = [
            ActivityFlushService(checker: checker, interval: .milliseconds(configuration.flushIntervalMilliseconds), logger: logger),
            BrokerPrincipalWatchService(checker: checker, logger: logger),
            BrokerListenerService(server: server, role: "master", listen: configuration.listen,
                                  shutdownGrace: .seconds(configuration.shutdownGraceSeconds), logger: logger),
        ]
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
        await checker.close()
        logger.notice("pbauth master stopped")
    }
}
