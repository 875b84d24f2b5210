import Logging
import PBAuthMaster
import PBAuthMetrics
import PBAuthOperations
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
        // Before anything makes a metric handle, which binds to the backend in force then.
        if configuration.httpListen != nil { _ = PrometheusExport.registry }
        let master = try Master(configuration: configuration, logger: logger)
        var services = master.services
        if let listen = configuration.httpListen {
            let routes = OperationsRoutes(role: "master", metrics: {
                await master.metricsSample().publish()
                return PrometheusExport.render()
            }, readiness: {
                let (ready, checks) = await master.readiness()
                return HealthReport(ready: ready, checks: checks)
            })
            services.insert(operationsService(listen, role: "master", routes: routes, logger: logger), at: 0)
        }
        try await run(services, reloading: master.tlsReloadables, logger: logger)
    }

    /// Runs a subordinate with `configuration` until it is told to stop.
    public static func runSubordinate(_ configuration: SubordinateConfiguration, logger: Logger) async throws {
        if configuration.httpListen != nil { _ = PrometheusExport.registry }
        let subordinate = try Subordinate(configuration: configuration, logger: logger)
        var services = subordinate.services
        if let listen = configuration.httpListen {
            let routes = OperationsRoutes(role: "subordinate", metrics: {
                await subordinate.metricsSample().publish()
                return PrometheusExport.render()
            }, readiness: {
                let (ready, checks) = await subordinate.readiness()
                return HealthReport(ready: ready, checks: checks)
            })
            services.insert(operationsService(listen, role: "subordinate", routes: routes, logger: logger), at: 0)
        }
        try await run(services, reloading: subordinate.tlsReloadables, logger: logger)
    }

    /// The HTTP listener for metrics and health; first in the group, so that it is the last to stop.
    private static func operationsService(_ listen: Endpoint, role: String, routes: OperationsRoutes, logger: Logger) -> any Service {
        MetricsSample.publishBuildInfo(role: role)
        PBAuthMetrics.registerAll()
        let server = OperationsHTTPServer(host: listen.host, port: listen.port, routes: routes, logger: logger)
        return OperationsHTTPService(server: server, role: role, host: listen.host, logger: logger)
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
