import PBAuthMetrics
import PerspectiveBroker

extension MetricsSample {
    /// A sample with what every pbauth broker's listeners know: open connections, refused
    /// connections by cause, throttled logins and, with a TLS listener, failed handshakes.
    public init(server: PBServer, throttle: LoginThrottle, tls: TLSServerContext?) {
        self.init()
        connectionsOpen = server.connectionCount
        connectionsRefused = server.refusedConnections
        loginsThrottled = throttle.throttledAttempts
        tlsHandshakesFailed = tls?.failures.failedHandshakes
    }
}
