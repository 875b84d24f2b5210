import Logging
import PerspectiveBroker
import ServiceLifecycle

/// A broker's PB portal on its listening address, as one service: it binds, serves until a
/// graceful shutdown, then stops accepting, lets calls in flight finish for at most
/// `shutdownGrace`, and closes every connection.
public struct BrokerListenerService: Service {
    private let server: PBServer
    private let role: String
    private let listen: Endpoint
    private let shutdownGrace: Duration
    private let logger: Logger

    /// A listener for `role` ("master" or "subordinate"), whose start is logged as
    /// `pbauth ROLE listening on HOST:PORT` (with the bound port), plus `metadata`.
    public init(server: PBServer, role: String, listen: Endpoint, shutdownGrace: Duration, logger: Logger) {
        self.server = server
        self.role = role
        self.listen = listen
        self.shutdownGrace = shutdownGrace
        self.logger = logger
    }

    /// Serves until the group shuts down gracefully; throws `DaemonError.cannotListen` when
    /// the address cannot be bound.
    public func run() async throws {
        let port: Int
        do {
            port = try await server.start()
        } catch {
            throw DaemonError.cannotListen(listen.description)
        }
        logger.notice("pbauth \(role) listening on \(Endpoint(host: listen.host, port: port))")
        try? await gracefulShutdown()
        logger.notice("pbauth \(role) stopping")
        await server.stop(gracePeriod: shutdownGrace)
    }
}
