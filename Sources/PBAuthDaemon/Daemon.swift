import Logging
import PBAuthMaster
import PBAuthSubordinate
import ServiceLifecycle

/// Runs a daemon's services in one `ServiceGroup` until SIGTERM or SIGINT, which the group
/// turns into a graceful shutdown of each service in reverse order.
public enum Daemon {
    /// Runs a master with `configuration` until it is told to stop.
    public static func runMaster(_ configuration: MasterConfiguration, logger: Logger) async throws {
        try await run(Master(configuration: configuration, logger: logger).services, logger: logger)
    }

    /// Runs a subordinate with `configuration` until it is told to stop.
    public static func runSubordinate(_ configuration: SubordinateConfiguration, logger: Logger) async throws {
        try await run(Subordinate(configuration: configuration, logger: logger).services, logger: logger)
    }

    private static func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}
