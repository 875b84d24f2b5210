import Logging
import PBAuthMaster
import PBAuthProtocol
import PBAuthSubordinate
import ServiceLifecycle
import UnixSignals

/// Runs a daemon's services in one `ServiceGroup` until SIGTERM or SIGINT, which the group
/// turns into a graceful shutdown of each service in reverse order. With TLS, SIGHUP
/// reloads the certificates and keys (`TLSReloadService`).
public enum Daemon {
    /// Runs a master with `configuration` until it is told to stop.
    public static func runMaster(_ configuration: MasterConfiguration, logger: Logger) async throws {
        let master = try Master(configuration: configuration, logger: logger)
        try await run(master.services, reloading: master.tlsReloadables, logger: logger)
    }

    /// Runs a subordinate with `configuration` until it is told to stop.
    public static func runSubordinate(_ configuration: SubordinateConfiguration, logger: Logger) async throws {
        let subordinate = try Subordinate(configuration: configuration, logger: logger)
        try await run(subordinate.services, reloading: subordinate.tlsReloadables, logger: logger)
    }

    private static func run(_ services: [any Service], reloading: [any TLSReloadable], logger: Logger) async throws {
        var services = services
        if !reloading.isEmpty {
            // Trapped before anything listens: a SIGHUP never ends a daemon that serves TLS.
            let hangups = await UnixSignalsSequence(trapping: .sighup)
            services.insert(TLSReloadService(reloadables: reloading, hangups: hangups, logger: logger), at: 0)
        }
        let group = ServiceGroup(configuration: .init(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}
