import Banana
import Logging
import NIOCore
import NIOPosix

/// The client side of one PB connection.
public final class PBClientConnection: Sendable {
    private let channel: any Channel
    private let broker: PBBroker

    /// The server's root object (never decref'd).
    public let root: PBRemoteReference

    private init(channel: any Channel, broker: PBBroker) {
        self.channel = channel
        self.broker = broker
        self.root = PBRemoteReference(broker: broker, objectID: .root)
    }

    /// Connects, chooses the dialect and sends the version; answers once calls may be sent.
    /// A server that has not offered its dialects and sent its version within `handshakeTimeout`
    /// is disconnected. Throws the socket error, or `PBCallError.connectionLost` if the server
    /// closed (or was given up on) during the handshake. With a `transport` (TLS), its handlers
    /// sit below the broker and the handshake timeout covers its handshake too; a failed TLS
    /// handshake ends as `PBCallError.connectionLost` (the transport's own handler can tell why).
    public static func connect(host: String, port: Int, group: any EventLoopGroup, limits: BananaLimits = .twisted,
                               logger: Logger? = nil, handshakeTimeout: Duration = .seconds(30),
                               transport: PBTransport? = nil) async throws
        -> PBClientConnection {
        let logger = logger ?? Logger(label: "pb.client", factory: { _ in SwiftLogNoOpLogHandler() })
        let channel = try await ClientBootstrap(group: group)
            // TCP_NODELAY is ClientBootstrap's default.
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try transport?.install(channel)
                    _ = try PBChannelSetup.install(
                        on: channel, role: .client, settings: PBConnectionSettings(limits: limits, handshakeTimeout: handshakeTimeout), root: nil,
                        connection: PBChannelSetup.connectionInfo(for: channel, isTLS: transport?.isTLS ?? false), logger: logger)
                }
            }
            .connect(host: host, port: port).get()
        let broker: PBBroker
        do {
            // The handler is gone when the server (or the handshake timeout) already closed the channel.
            broker = try await channel.pipeline.handler(type: PBBroker.self).get()
        } catch {
            try? await channel.close()
            throw PBCallError.connectionLost
        }
        do {
            try await broker.ready.futureResult.get()
        } catch {
            try? await channel.close()
            throw error
        }
        return PBClientConnection(channel: channel, broker: broker)
    }

    /// Logs in exactly as Twisted's `PBClientFactory.login` does:
    /// `root.login(username)` -> (challenge, challenger); response = MD5(MD5(secret) || challenge);
    /// `challenger.respond(response, mind)` -> the avatar. The username is sent as bytes.
    /// Throws `PBCallError.remoteFailure` (UnauthorizedLogin for a wrong secret or unknown user),
    /// or `PBCallError.timedOut` when a step is not answered within `timeout`.
    public func login(username: [UInt8], secret: [UInt8], mind: JellyValue = .none,
                      timeout: Duration? = nil) async throws -> PBRemoteReference {
        let answer = try await root.callRemote("login", arguments: [.bytes(username)], keywords: [:], timeout: timeout)
        guard let parts = answer.arrayValue, parts.count == 2, let challenge = parts[0].bytesValue,
              let challenger = Self.reference(in: parts[1]) else {
            throw PBCallError.unexpectedAnswer("login did not answer (challenge, challenger)")
        }
        let response = PBLoginChallenge.response(secret: secret, challenge: challenge)
        let avatar = try await challenger.callRemote("respond", arguments: [.bytes(response), mind], keywords: [:], timeout: timeout)
        guard let reference = Self.reference(in: avatar) else {
            throw PBCallError.unexpectedAnswer("respond did not answer a remote reference")
        }
        return reference
    }

    private static func reference(in value: JellyValue) -> PBRemoteReference? {
        switch value {
        case .object(let object): object as? PBRemoteReference
        case .shared(let shared): reference(in: shared.value)
        default: nil
        }
    }

    /// Closes the connection; pending calls fail with `PBCallError.connectionLost`.
    public func close() async {
        try? await channel.close()
        try? await broker.closed.futureResult.get()
    }

    /// Whether the connection is still open.
    public var isConnected: Bool { broker.isOpenFlag.load(ordering: .relaxed) }

    /// An executor on this connection's event loop: a task that prefers it makes its calls
    /// and receives their answers without changing threads.
    public var taskExecutor: EventLoopTaskExecutor { broker.taskExecutor }

    /// Facts about this connection (the server's address).
    public var connection: PBConnectionInfo { broker.connection }

    /// Returns when the connection has closed (for reconnect loops).
    public func waitUntilClosed() async {
        try? await broker.closed.futureResult.get()
    }
}
