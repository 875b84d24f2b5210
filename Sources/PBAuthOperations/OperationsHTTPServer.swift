import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The operations listener (`http_listen`): HTTP/1.1 for metrics scrapers and health probes,
/// bounded in connections, request size and time (`OperationsHTTPLimits`), GET only.
///
/// It serves no secret: `/metrics` holds counts and levels with labels from fixed sets,
/// `/health/*` a status and a few words. Bind it to loopback or a management network all
/// the same: it is not authenticated.
public final class OperationsHTTPServer: Sendable {
    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var refused = 0
    }

    private let host: String
    private let port: Int
    private let routes: OperationsRoutes
    private let limits: OperationsHTTPLimits
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    /// A listener on `host:port` (port 0: any) answering with `routes`.
    public init(host: String, port: Int, routes: OperationsRoutes, limits: OperationsHTTPLimits = OperationsHTTPLimits(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.host = host
        self.port = port
        self.routes = routes
        self.limits = limits
        self.group = group
        self.logger = logger
    }

    /// Binds and starts accepting; answers the bound port. Throws the socket error.
    public func start() async throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.accept(channel) }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        state.withLock { $0.serverChannel = channel }
        return channel.localAddress?.port ?? port
    }

    private func accept(_ channel: any Channel) throws {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLock { state -> Bool in
            guard state.serverChannel != nil, state.connections.count < limits.maxConnections else {
                state.refused += 1
                return false
            }
            state.connections[id] = channel
            return true
        }
        guard admitted else { throw ChannelError.ioOnClosedChannel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.connections.removeValue(forKey: id) }
        }
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(IdleStateHandler(readTimeout: .nanoseconds(limits.idleTimeout.wholeNanoseconds)))
        try sync.addHandler(RequestBoundsHandler(limits: limits))
        try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
        try sync.addHandler(OperationsHTTPHandler(routes: routes, limits: limits))
    }

    /// How many connections are open.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Connections refused because `maxConnections` were open.
    public var refusedConnections: Int { state.withLock { $0.refused } }

    /// Stops accepting and closes every connection.
    public func stop() async {
        let (server, connections) = state.withLock { state -> ((any Channel)?, [any Channel]) in
            defer { state.serverChannel = nil }
            return (state.serverChannel, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections { try? await connection.close() }
    }
}

/// The operations listener as a service: it binds, logs `pbauth ROLE http listening on
/// HOST:PORT`, serves until the group shuts down gracefully, then closes.
public struct OperationsHTTPService: Service {
    private let server: OperationsHTTPServer
    private let role: String
    private let host: String
    private let logger: Logger

    /// A service for `server` (listening on `host`).
    public init(server: OperationsHTTPServer, role: String, host: String, logger: Logger) {
        self.server = server
        self.role = role
        self.host = host
        self.logger = logger
    }

    /// Serves until a graceful shutdown; throws `OperationsError.cannotListen` when the address cannot be bound.
    public func run() async throws {
        let port: Int
        do {
            port = try await server.start()
        } catch {
            throw OperationsError.cannotListen(host: host, reason: "\(error)")
        }
        logger.notice("pbauth \(role) http listening on \(host.contains(":") ? "[\(host)]" : host):\(port)")
        try? await gracefulShutdown()
        await server.stop()
    }
}

/// Why the operations listener could not run.
public enum OperationsError: Error, CustomStringConvertible {
    /// The `http_listen` address could not be bound.
    case cannotListen(host: String, reason: String)

    /// A sentence for the log.
    public var description: String {
        switch self {
        case .cannotListen(let host, let reason): "cannot listen for HTTP on \(host) (http_listen): \(reason)"
        }
    }
}
