import Banana

/// How a `PBServer` listens and what it tolerates from its peers.
public struct PBServerConfiguration: Sendable {
    /// The address to bind, e.g. "127.0.0.1" or "0.0.0.0".
    public var host: String
    /// The port to bind; 0 lets the operating system pick one (see `PBServer.start()`).
    public var port: Int
    /// Size limits for everything read off the network.
    public var limits: BananaLimits
    /// At most this many objects exported per connection (Twisted's MAX_BROKER_REFS is 1024).
    public var maxExportedObjects: Int
    /// At most this many open connections; further connections are closed at once. `nil`: no limit.
    public var maxConnections: Int?
    /// A connection whose peer has not finished the dialect and version exchange within this
    /// time is closed, so silent sockets do not linger. `nil`: wait forever.
    public var handshakeTimeout: Duration?
    /// A connection with no traffic in either direction for this long is closed. `nil` (the
    /// default, like Twisted): idle connections stay open.
    public var idleTimeout: Duration?

    /// Creates a configuration; the defaults follow Twisted, plus a 30-second handshake timeout.
    public init(host: String = "127.0.0.1", port: Int = 0, limits: BananaLimits = .twisted,
                maxExportedObjects: Int = 1024, maxConnections: Int? = nil,
                handshakeTimeout: Duration? = .seconds(30), idleTimeout: Duration? = nil) {
        self.host = host
        self.port = port
        self.limits = limits
        self.maxExportedObjects = maxExportedObjects
        self.maxConnections = maxConnections
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
    }
}
