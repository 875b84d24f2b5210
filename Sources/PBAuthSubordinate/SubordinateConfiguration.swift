import PBAuthProtocol
import Foundation

/// Every setting of `pbauth subordinate`, with its default. `config/subordinate.conf`
/// lists the same keys; the README documents them.
public struct SubordinateConfiguration: Sendable, Equatable {
    /// Where this broker's PB portal listens in plain TCP; `nil` (`listen = off`): not at all.
    public var listen: Endpoint? = Endpoint(host: "127.0.0.1", port: 8788)
    /// Where and with which certificate the PB portal listens over TLS (off by default).
    public var tls = TLSListenerSettings()
    /// The upstream brokers (the master, or its standby, or other subordinates), tried in
    /// order: the link goes to the next one when one cannot be reached. At least one is required.
    public var upstreams: [Endpoint] = []
    /// The first upstream; setting it replaces the list with this one alone.
    public var upstream: Endpoint? {
        get { upstreams.first }
        set { upstreams = newValue.map { [$0] } ?? [] }
    }
    /// Whether and how the upstream link uses TLS (the same for every upstream).
    public var upstreamTLS = UpstreamTLSSettings()
    /// This broker's principal name at its upstream. Required.
    public var broker: String?
    /// The file holding the principal's token (one line). Required.
    public var tokenFile: String?
    /// The longest `via` path this broker forwards.
    public var hopLimit = 8
    /// The longest wait between two reconnection attempts, in milliseconds.
    public var reconnectMaxDelayMilliseconds = 5_000
    /// How long one call to the upstream may take, in milliseconds.
    public var upstreamTimeoutMilliseconds = 10_000
    /// Seconds between two heartbeats (`ping()`) on the upstream link, which keep it open
    /// while idle; below the upstream's `logged_in_idle_timeout`.
    public var upstreamHeartbeat = 60
    /// The bounds on connections.
    public var connections = ConnectionSettings()
    /// How long a shutdown waits for calls in flight, in seconds.
    public var shutdownGraceSeconds = 10
    /// The log level: trace, debug, info, notice, warning, error, critical.
    public var logLevel = "info"
    /// Where the HTTP listener for metrics and health listens; `nil` (the default) turns it off.
    public var httpListen: Endpoint?

    /// The configuration file keys, in the order `config/subordinate.conf` lists them.
    public static let keys: [String] = [
        "listen",
    ] + TLSListenerSettings.keys + [
        "upstream", "broker", "token_file", "hop_limit", "reconnect_max_delay_ms",
        "upstream_timeout_ms", "upstream_heartbeat",
    ] + UpstreamTLSSettings.keys + ConnectionSettings.keys + [
        "shutdown_grace", "log_level",
    ] + [
        "http_listen",
    ]

    /// The defaults (no upstream yet).
    public init() {}

}
