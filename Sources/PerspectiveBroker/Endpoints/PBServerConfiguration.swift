import Banana

/// How a `PBServer` listens and what it tolerates from its peers.
///
/// A connection starts as a *stranger*: until it has logged in (until an avatar was handed
/// to it) it is held to `strangers`, which allow only what a login needs. Once logged in it
/// gets the limits below.
public struct PBServerConfiguration: Sendable {
    /// The address to bind, e.g. "127.0.0.1" or "0.0.0.0".
    public var host: String
    /// The port to bind; 0 lets the operating system pick one (see `PBServer.start()`).
    public var port: Int
    /// Size limits for everything a logged-in peer sends.
    public var limits: BananaLimits
    /// At most this many objects exported per logged-in connection (Twisted's MAX_BROKER_REFS is 1024).
    public var maxExportedObjects: Int
    /// At most this many remote methods run at once per logged-in connection; past it the
    /// server stops reading from that connection until some finish (and while the peer does
    /// not read its answers).
    public var maxCallsInFlightPerConnection: Int
    /// A logged-in connection whose peer leaves more than this many bytes of answers unread
    /// is closed (reading already pauses while the socket is not writable).
    public var maxBufferedOutboundBytes: Int
    /// At most this many open connections; further connections are closed at once. `nil`: no limit.
    public var maxConnections: Int?
    /// At most this many open connections from one IP address; further ones are closed at
    /// once. `nil`: no limit.
    public var maxConnectionsPerSource: Int?
    /// A connection whose peer has not finished the dialect and version exchange within this
    /// time is closed, so silent sockets do not linger. `nil`: wait forever.
    public var handshakeTimeout: Duration?
    /// A logged-in connection that has not received a complete message for this long is
    /// closed. `nil` (the default, like Twisted): idle logged-in connections stay open.
    public var idleTimeout: Duration?
    /// What a connection may do before it has logged in.
    public var strangers: PBStrangerLimits
    /// A layer such as TLS below the broker of every connection accepted on `host`:`port`;
    /// `nil`: plain TCP. (`PBServer.start(host:port:transport:)` adds further listeners.)
    public var transport: PBTransport?

    /// Creates a configuration; the defaults follow Twisted, plus a 30-second handshake
    /// timeout and the stranger limits of `PBStrangerLimits()`.
    public init(host: String = "127.0.0.1", port: Int = 0, limits: BananaLimits = .twisted,
                maxExportedObjects: Int = 1024, maxCallsInFlightPerConnection: Int = 1000,
                maxBufferedOutboundBytes: Int = 8 * 1024 * 1024, maxConnections: Int? = nil,
                maxConnectionsPerSource: Int? = nil, handshakeTimeout: Duration? = .seconds(30),
                idleTimeout: Duration? = nil, strangers: PBStrangerLimits = PBStrangerLimits(),
                transport: PBTransport? = nil) {
        self.host = host
        self.port = port
        self.limits = limits
        self.maxExportedObjects = maxExportedObjects
        self.maxCallsInFlightPerConnection = maxCallsInFlightPerConnection
        self.maxBufferedOutboundBytes = maxBufferedOutboundBytes
        self.maxConnections = maxConnections
        self.maxConnectionsPerSource = maxConnectionsPerSource
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.strangers = strangers
        self.transport = transport
    }
}

/// What a server connection may do before it has logged in: only what a login needs.
///
/// A PB login is `login(username)` then `respond(response, mind)` on the challenger it
/// answered, one call at a time; pbauth's `authenticate(username, password)` is one more
/// small call. Each bound here is a few times what those need.
public struct PBStrangerLimits: Sendable, Hashable {
    /// Size limits for what a stranger sends (`BananaLimits.stranger`: 2 KiB messages).
    public var limits: BananaLimits
    /// Remote methods running at once; past it reading pauses.
    public var maxCallsInFlight: Int
    /// Objects exported at once (the outstanding login challengers); more are refused, and
    /// the connection closes after more than 3 refusals.
    public var maxExportedObjects: Int
    /// Bytes of answers the peer may leave unread before the connection is closed.
    public var maxBufferedOutboundBytes: Int
    /// A stranger that has not sent a complete message for this long is closed, so that a
    /// peer trickling one byte at a time is closed too. `nil`: never.
    public var idleTimeout: Duration?
    /// Bytes read from the socket at a time, so that a stranger's unread input stays small.
    public var readChunkBytes: Int

    /// Creates stranger limits; the defaults are what pbauth's brokers use.
    public init(limits: BananaLimits = .stranger, maxCallsInFlight: Int = 4, maxExportedObjects: Int = 4,
                maxBufferedOutboundBytes: Int = 64 * 1024, idleTimeout: Duration? = .seconds(30),
                readChunkBytes: Int = 2048) {
        self.limits = limits
        self.maxCallsInFlight = maxCallsInFlight
        self.maxExportedObjects = maxExportedObjects
        self.maxBufferedOutboundBytes = maxBufferedOutboundBytes
        self.idleTimeout = idleTimeout
        self.readChunkBytes = readChunkBytes
    }
}

/// The per-connection settings the broker needs, for servers and clients alike.
struct PBConnectionSettings: Sendable {
    var limits: BananaLimits = .twisted
    var maxExportedObjects = 1024
    var maxCallsInFlight = 1000
    var maxBufferedOutboundBytes = 8 * 1024 * 1024
    /// At most this many of our own calls wait for an answer; more fail at once.
    var maxPendingCalls = 4096
    var handshakeTimeout: Duration?
    var idleTimeout: Duration?
    /// `nil`: the connection is trusted from the start (clients, tests).
    var strangers: PBStrangerLimits?
    /// The server's messages per read, restored at login.
    var maxMessagesPerRead = 16

    init(limits: BananaLimits = .twisted, maxExportedObjects: Int = 1024, maxCallsInFlight: Int = 1000,
         maxBufferedOutboundBytes: Int = 8 * 1024 * 1024, maxPendingCalls: Int = 4096,
         handshakeTimeout: Duration? = nil, idleTimeout: Duration? = nil, strangers: PBStrangerLimits? = nil) {
        self.limits = limits
        self.maxExportedObjects = maxExportedObjects
        self.maxCallsInFlight = maxCallsInFlight
        self.maxBufferedOutboundBytes = maxBufferedOutboundBytes
        self.maxPendingCalls = maxPendingCalls
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.strangers = strangers
    }

    init(_ configuration: PBServerConfiguration) {
        self.init(limits: configuration.limits, maxExportedObjects: configuration.maxExportedObjects,
                  maxCallsInFlight: configuration.maxCallsInFlightPerConnection,
                  maxBufferedOutboundBytes: configuration.maxBufferedOutboundBytes,
                  handshakeTimeout: configuration.handshakeTimeout, idleTimeout: configuration.idleTimeout,
                  strangers: configuration.strangers)
    }
}
