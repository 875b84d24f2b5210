import Logging
import PerspectiveBroker
import ServiceLifecycle

/// A broker's PB portal on its listening addresses (plain, TLS, or both), as one service: it
/// binds, serves until a graceful shutdown, then stops accepting, lets calls in flight finish
/// for at most `shutdownGrace`, and closes every connection.
public struct BrokerListenerService: Service {
    /// One listening address and the transport of its connections.
    public struct Listener: Sendable {
        /// Where to listen.
        public var endpoint: Endpoint
        /// TLS (or another layer) below the broker; `nil`: plain TCP.
        public var transport: PBTransport?

        /// A listener on `endpoint`.
        public init(endpoint: Endpoint, transport: PBTransport? = nil) {
            self.endpoint = endpoint
            self.transport = transport
        }
    }

    private let server: PBServer
    private let role: String
    private let listeners: [Listener]
    private let shutdownGrace: Duration
    private let logger: Logger

    /// A plain listener for `role` ("master" or "subordinate"), whose start is logged as
    /// `pbauth ROLE listening on HOST:PORT` (with the bound port).
    public init(server: PBServer, role: String, listen: Endpoint, shutdownGrace: Duration, logger: Logger) {
        self.init(server: server, role: role, listeners: [Listener(endpoint: listen)], shutdownGrace: shutdownGrace, logger: logger)
    }

    /// Listeners for `role` that share `server` (its root, limits and connection caps). Each
    /// start is logged as `pbauth ROLE listening on HOST:PORT`, or `pbauth ROLE listening for
    /// TLS on HOST:PORT` for a TLS listener (with the bound port).
    public init(server: PBServer, role: String, listeners: [Listener], shutdownGrace: Duration, logger: Logger) {
        self.server = server
        self.role = role
        self.listeners = listeners
        self.shutdownGrace = shutdownGrace
        self.logger = logger
    }

    /// Serves until the group shuts down gracefully; throws `DaemonError.cannotListen` when
    /// an address cannot be bound.
    public func run() async throws {
        for listener in listeners {
            let port: Int
            do {
                port = try await server.start(host: listener.endpoint.host, port: listener.endpoint.port, transport: listener.transport)
            } catch {
                await server.stop(gracePeriod: .zero)
                throw DaemonError.cannotListen(listener.endpoint.description)
            }
            let bound = Endpoint(host: listener.endpoint.host, port: port)
            if listener.transport?.isTLS == true {
                logger.notice("pbauth \(role) listening for TLS on \(bound)")
            } else {
                logger.notice("pbauth \(role) listening on \(bound)")
            }
        }
        try? await gracefulShutdown()
        logger.notice("pbauth \(role) stopping")
        await server.stop(gracePeriod: shutdownGrace)
    }
}

extension BrokerListenerService {
    /// A daemon's listeners: the plain one on `plain` and the TLS one on `tls` (with
    /// `context`'s transport), each when set.
    public static func listeners(plain: Endpoint?, tls: Endpoint?, context: TLSServerContext?) -> [Listener] {
        var listeners: [Listener] = []
        if let plain { listeners.append(Listener(endpoint: plain)) }
        if let tls, let context { listeners.append(Listener(endpoint: tls, transport: context.transport)) }
        return listeners
    }
}
