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
    /// At most this many remote methods run at once per connection; past it the server stops
    /// reading from that connection until some finish (and while the peer does not read its answers).
    public var maxCallsInFlightPerConnection: Int
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
                maxExportedObjects: Int = 1024, maxCallsInFlightPerConnection: Int = 1000, maxConnections: Int? = nil,
                handshakeTimeout: Duration? = .seconds(30), idleTimeout: Duration? = nil) {
        self.host = host
        self.port = port
        self.limits = limits
        self.maxExportedObjects = maxExportedObjects
        self.maxCallsInFlightPerConnection = maxCallsInFlightPerConnection
        self.maxConnections = maxConnections
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
    }
}

/// The per-connection settings the broker needs, for servers and clients alike.
struct PBConnectionSettings: Sendable {
    var limits: BananaLimits = .twisted
    var maxExportedObjects = 1024
    var maxCallsInFlight = 1000
    var handshakeTimeout: Duration?
    var idleTimeout: Duration?

    init(limits: BananaLimits = .twisted, maxExportedObjects: Int = 1024, maxCallsInFlight: Int = 1000,
         handshakeTimeout: Duration? = nil, idleTimeout: Duration? = nil) {
        self.limits = limits
        self.maxExportedObjects = maxExportedObjects
        self.maxCallsInFlight = maxCallsInFlight
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
    }

    init(_ configuration: PBServerConfiguration) {
        self.init(limits: configuration.limits, maxExportedObjects: configuration.maxExportedObjects,
                  maxCallsInFlight: configuration.maxCallsInFlightPerConnection,
                  handshakeTimeout: configuration.handshakeTimeout, idleTimeout: configuration.idleTimeout)
    }
}
