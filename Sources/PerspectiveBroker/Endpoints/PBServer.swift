import Banana
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A PB server: accepts TCP connections and serves each one a root object.
public final class PBServer: Sendable {
    private struct State {
        /// The listening sockets (`start()` and any further `start(host:port:transport:)`).
        var serverChannels: [any Channel] = []
        var connections: [UInt64: (channel: any Channel, broker: PBBroker)] = [:]
        /// Open connections by remote IP address.
        var connectionsBySource: [String: Int] = [:]
        var isStopping = false
        /// Connections refused since the last log line about them, by cause.
        var refusals: [String: Int] = [:]
        var isRefusalLogScheduled = false
        /// Connections refused since start, by cause.
        var refusalTotals: [String: Int] = [:]
    }

    private let configuration: PBServerConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let root: @Sendable (PBConnectionInfo) -> any PBReferenceable
    private let state = Mutex(State())

    /// Creates a server; `root` makes the object each new connection sees as `root`
    /// (normally a `PBPortalRoot`).
    public init(configuration: PBServerConfiguration, group: any EventLoopGroup, logger: Logger,
                root: @escaping @Sendable (PBConnectionInfo) -> any PBReferenceable) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.root = root
    }

    /// Binds the configuration's address (with its `transport`) and starts accepting;
    /// answers the bound port (useful with port 0). Throws the socket error if the address
    /// cannot be bound.
    public func start() async throws -> Int {
        try await start(host: configuration.host, port: configuration.port, transport: configuration.transport)
    }

    /// Binds one more listening address, whose connections go through `transport` (`nil`:
    /// plain TCP), and starts accepting; answers the bound port. Every listener of one server
    /// shares its root, its limits and its connection caps (`maxConnections` counts the
    /// connections of all of them). Throws the socket error if the address cannot be bound.
    public func start(host: String, port: Int, transport: PBTransport?) async throws -> Int {
        // NIO sets TCP_NODELAY on the listening socket, and accepted sockets inherit it.
        // (`.socketOption(.tcp_nodelay)` would set SOL_SOCKET option 1, SO_DEBUG.)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.accept(channel, transport: transport) }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        let isStopping = state.withLock { state in
            if !state.isStopping { state.serverChannels.append(channel) }
            return state.isStopping
        }
        if isStopping {
            try? await channel.close()
            throw ChannelError.ioOnClosedChannel
        }
        let boundPort = channel.localAddress?.port ?? port
        logger.info("PB server listening", metadata: [
            "host": "\(host)", "port": "\(boundPort)", "tls": "\(transport?.isTLS ?? false)",
        ])
        return boundPort
    }

    private func accept(_ channel: any Channel, transport: PBTransport?) throws {
        let source = channel.remoteAddress?.ipAddress ?? "unknown"
        // Checked and counted under one lock: connections accepted on other loops at the same
        // moment cannot all pass the check. Refused before anything is set up for them.
        let refusal = state.withLock { state -> String? in
            if state.isStopping { return "the server is stopping" }
            if let limit = configuration.maxConnections, state.connections.count >= limit {
                return "max_connections"
            }
            if let limit = configuration.maxConnectionsPerSource, state.connectionsBySource[source, default: 0] >= limit {
                return "max_connections_per_source"
            }
            state.connectionsBySource[source, default: 0] += 1
            return nil
        }
        if let refusal {
            countRefusal(refusal)
            throw ChannelError.ioOnClosedChannel
        }
        let connection = PBChannelSetup.connectionInfo(for: channel, isTLS: transport?.isTLS ?? false)
        let broker: PBBroker
        do {
            // The transport (TLS) below the broker: the broker's limits apply to what it hands up.
            try transport?.install(channel)
            broker = try PBChannelSetup.install(
                on: channel, role: .server, settings: PBConnectionSettings(configuration), root: root(connection),
                connection: connection, logger: logger)
        } catch {
            state.withLock { Self.forget(source: source, in: &$0) }
            throw error
        }
        state.withLock { $0.connections[connection.id] = (channel, broker) }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLock { state in
                state.connections.removeValue(forKey: connection.id)
                Self.forget(source: source, in: &state)
            }
        }
    }

    private static func forget(source: String, in state: inout State) {
        let remaining = state.connectionsBySource[source, default: 1] - 1
        state.connectionsBySource[source] = remaining > 0 ? remaining : nil
    }

    /// Counts a refused connection; the counts are logged a second later, one line per cause,
    /// so that a flood of connections cannot flood the log.
    private func countRefusal(_ cause: String) {
        let schedule = state.withLock { state -> Bool in
            state.refusals[cause, default: 0] += 1
            state.refusalTotals[cause, default: 0] += 1
            defer { state.isRefusalLogScheduled = true }
            return !state.isRefusalLogScheduled
        }
        guard schedule else { return }
        group.next().scheduleTask(in: .seconds(1)) { [self] in
            let counts = state.withLock { state -> [String: Int] in
                defer {
                    state.refusals.removeAll()
                    state.isRefusalLogScheduled = false
                }
                return state.refusals
            }
            for (cause, count) in counts.sorted(by: { $0.key < $1.key }) {
                logger.notice("refused PB connections", metadata: ["cause": "\(cause)", "count": "\(count)"])
            }
        }
    }

    /// Makes `channel` one PB server connection, exactly as `PBServer` does for the connections
    /// it accepts on the configuration's address (its `transport` included), minus the counting of connections (for servers with their own bootstrap,
    /// and for fuzzing the whole broker in an embedded channel). Must run on `channel`'s
    /// event loop, before the channel is active.
    public static func configureConnection(_ channel: any Channel, configuration: PBServerConfiguration,
                                           root: any PBReferenceable, logger: Logger) throws {
        let connection = PBChannelSetup.connectionInfo(for: channel, isTLS: configuration.transport?.isTLS ?? false)
        try configuration.transport?.install(channel)
        _ = try PBChannelSetup.install(on: channel, role: .server, settings: PBConnectionSettings(configuration), root: root,
                                       connection: connection, logger: logger)
    }

    /// How many connections are open.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Connections refused as they were accepted since start, by cause: `max_connections`,
    /// `max_connections_per_source`, or `stopping`.
    public var refusedConnections: [String: Int] {
        state.withLock { state in
            Dictionary(state.refusalTotals.map { ($0.key == "the server is stopping" ? "stopping" : $0.key, $0.value) },
                       uniquingKeysWith: +)
        }
    }

    /// Stops accepting, lets calls in progress finish for at most `gracePeriod`, then closes
    /// every connection (pending calls fail, logout hooks run).
    public func stop(gracePeriod: Duration) async {
        let serverChannels = state.withLock { state -> [any Channel] in
            state.isStopping = true
            defer { state.serverChannels = [] }
            return state.serverChannels
        }
        for serverChannel in serverChannels {
            try? await serverChannel.close()
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: gracePeriod)
        while clock.now < deadline {
            let busy = state.withLock { state in
                state.connections.values.contains { $0.broker.callsInFlight.load(ordering: .relaxed) > 0 }
            }
            if !busy { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections {
            try? await connection.channel.close()
        }
        for connection in connections {
            try? await connection.broker.closed.futureResult.get()
        }
    }
}
