import AccountStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PerspectiveBroker
import ServiceLifecycle

/// `pbauth master`: the PB portal and checker service over the account
/// database, as a swift-service-lifecycle service. On graceful shutdown it
/// stops accepting, lets calls in flight finish (bounded by `shutdown_grace`),
/// writes coalesced activity and closes the database.
public struct MasterService: Service {
    private let configuration: MasterConfiguration
    private let logger: Logger
    private let group: any EventLoopGroup

    /// Creates the service; nothing is opened until `run()`.
    public init(configuration: MasterConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.group = group
    }

    /// Serves until a graceful shutdown (SIGTERM or SIGINT through the service group),
    /// then stops as described above. Throws when the master cannot start.
    public func run() async throws {
        configuration.connections.raiseOpenFileLimit(logger: logger)
        let configuration = self.configuration
        try prepareDatabase()
        let checker = try MasterChecker(configuration: configuration)
        let portal = BrokerPortal(checker: checker, logger: logger)
        let rootMethods = MasterRootMethods(checker: checker, allowRemote: configuration.allowRemoteAuthenticate, logger: logger)
        let server = PBServer(
            configuration: configuration.connections.serverConfiguration(configuration.listen),
            group: group,
            logger: logger,
            root: { _ in PBPortalRoot(portal: portal, fallback: rootMethods) }
        )
        let port: Int
        do {
            port = try await server.start()
        } catch {
            await checker.close()
            throw DaemonError.cannotListen(configuration.listen.description)
        }
        logger.notice("pbauth master listening on \(Endpoint(host: configuration.listen.host, port: port))", metadata: [
            "database": "\(configuration.database)", "pb_password_login": "\(configuration.pbPasswordLogin)",
        ])

        let interval = Duration.milliseconds(configuration.flushIntervalMilliseconds)
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
        logger.notice("pbauth master stopping")
        await server.stop(gracePeriod: .seconds(configuration.shutdownGraceSeconds))
        await checker.close()
        logger.notice("pbauth master stopped")
    }

    /// Creates and migrates a missing database (the first start); refuses an
    /// existing one with pending migrations; records the PB password login setting.
    private func prepareDatabase() throws {
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

/// Why a daemon could not start.
public enum DaemonError: Error, CustomStringConvertible {
    /// The listening address is taken or not valid here.
    case cannotListen(String)
    /// The token file cannot be read or is empty.
    case unreadableTokenFile(String)

    public var description: String {
        switch self {
        case .cannotListen(let address): "cannot listen on \(address): is another process using it?"
        case .unreadableTokenFile(let path): "cannot read a token from \(path): it must hold the token printed by 'pbauth account add NAME --broker'"
        }
    }
}
