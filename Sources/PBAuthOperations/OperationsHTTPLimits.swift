/// The bounds of the operations listener. Its clients are a metrics scraper and a health
/// prober; everything a peer sends beyond these is refused and the connection closed.
public struct OperationsHTTPLimits: Sendable, Equatable {
    /// Open connections in all; more are closed as they are accepted.
    public var maxConnections = 64
    /// Bytes a request may take (request line and headers; bodies are refused).
    public var maxRequestBytes = 8 * 1024
    /// How long one request may take to arrive, from its first byte to its end.
    public var requestTimeout: Duration = .seconds(10)
    /// How long a connection may stay silent between requests.
    public var idleTimeout: Duration = .seconds(30)
    /// Requests on one connection, after which it is closed.
    public var maxRequestsPerConnection = 1_000
    /// How long `/health/ready` may take before it answers "not ready".
    public var readinessTimeout: Duration = .seconds(3)

    /// The defaults.
    public init() {}
}
