import NIOCore

/// A layer between the socket and the broker, such as TLS.
///
/// PerspectiveBroker does not know TLS itself, and so does not link a TLS library: a program
/// that wants TLS (pbauth's daemons, with swift-nio-ssl) passes a transport whose `install`
/// adds its handler (for example `NIOSSLServerHandler`) to each new connection's pipeline.
/// The broker is added after it and reads the bytes the layer hands up: every PB limit
/// (stranger limits, message sizes, timeouts, back-pressure) applies to those bytes exactly
/// as on a plain connection, and the PB handshake timeout counts from the moment the TCP
/// connection is accepted, so it covers the layer's own handshake too.
public struct PBTransport: Sendable {
    /// Whether connections through this layer are protected by TLS; it becomes
    /// `PBConnectionInfo.isTLS` of each of them.
    public var isTLS: Bool
    /// Adds the layer's handlers to a new connection's pipeline. It runs on the channel's
    /// event loop before the broker is added; throwing closes the connection.
    public var install: @Sendable (any Channel) throws -> Void

    /// A transport whose handlers `install` adds.
    public init(isTLS: Bool, install: @escaping @Sendable (any Channel) throws -> Void) {
        self.isTLS = isTLS
        self.install = install
    }
}
