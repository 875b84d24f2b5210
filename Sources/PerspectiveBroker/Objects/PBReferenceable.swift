import Banana
import NIOCore

/// An object the broker exports by reference: the root, a login challenger, an avatar,
/// or any child object a remote method hands out.
///
/// Nothing reflects over Swift methods: the object itself says which remote method
/// names it answers, in `remoteMessage`.
public protocol PBReferenceable: JellyObject {
    /// Whether a missing method fails as a `pb.Avatar`'s does (`builtins.AttributeError`)
    /// or as a plain `pb.Referenceable`'s (`twisted.spread.flavors.NoSuchMethod`).
    /// Defaults to `false`.
    var isAvatar: Bool { get }

    /// Runs the remote method `method` with the peer's arguments and keyword arguments.
    ///
    /// Throw a `JellyFailure` to send exactly that failure; throw
    /// `PBCallError.noSuchMethod` for an unknown name and `PBCallError.badArguments`
    /// for wrong argument counts or types (sent as `builtins.TypeError`). Any other
    /// error is logged once and sent as a generic `twisted.spread.pb.Error` whose text
    /// does not include the error's description, so nothing leaks to the peer.
    func remoteMessage(
        _ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext
    ) async throws -> JellyValue

    /// Answers the remote method at once, on the connection's event loop, when it can
    /// without waiting for anything and without blocking; nil to run `remoteMessage` as a
    /// task instead. A call answered here costs no task and no hop to another thread. The
    /// failures are those of `remoteMessage`. Defaults to nil.
    func remoteMessageAtOnce(
        _ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext
    ) -> Result<JellyValue, any Error>?
}

extension PBReferenceable {
    /// Plain referenceables are not avatars.
    public var isAvatar: Bool { false }

    /// Every call runs `remoteMessage`.
    public func remoteMessageAtOnce(
        _ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext
    ) -> Result<JellyValue, any Error>? {
        nil
    }
}

/// What a remote method knows about the call it serves.
public struct PBCallContext: Sendable {
    /// The connection the call arrived on.
    public let connection: PBConnectionInfo

    /// The broker serving the connection, for the portal's logout bookkeeping.
    let broker: PBBroker?

    init(connection: PBConnectionInfo, broker: PBBroker?) {
        self.connection = connection
        self.broker = broker
    }
}

/// Facts about one PB connection, and the means to close it.
public struct PBConnectionInfo: Sendable, Hashable, CustomStringConvertible {
    /// A number unique among this process's connections.
    public let id: UInt64
    /// The peer's address as "ip:port" ("[ip]:port" for IPv6).
    public let remoteAddress: String
    /// Whether the peer connected over the loopback interface.
    public let isLoopback: Bool
    /// Whether the connection is protected by TLS: it was accepted or made through a
    /// `PBTransport` whose `isTLS` is true.
    public let isTLS: Bool
    /// The connection's channel, for `close()`; nil for a description made by hand.
    private let channel: (any Channel)?

    /// Creates a description of a connection that `close()` cannot close.
    public init(id: UInt64, remoteAddress: String, isLoopback: Bool, isTLS: Bool = false) {
        self.init(id: id, remoteAddress: remoteAddress, isLoopback: isLoopback, isTLS: isTLS, channel: nil)
    }

    init(id: UInt64, remoteAddress: String, isLoopback: Bool, isTLS: Bool = false, channel: (any Channel)?) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.isLoopback = isLoopback
        self.isTLS = isTLS
        self.channel = channel
    }

    /// Closes the connection, from any thread; calls in flight fail with `connectionLost`
    /// on its side, and its avatars' logout hooks run. Does nothing when it is closed.
    public func close() {
        channel?.close(promise: nil)
    }

    /// Two descriptions are equal when they describe the same connection.
    public static func == (lhs: PBConnectionInfo, rhs: PBConnectionInfo) -> Bool {
        lhs.id == rhs.id && lhs.remoteAddress == rhs.remoteAddress && lhs.isLoopback == rhs.isLoopback && lhs.isTLS == rhs.isTLS
    }

    /// Hashes the connection's number.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
    }

    /// "connection <id> from <address>".
    public var description: String { "connection \(id) from \(remoteAddress)" }
}
