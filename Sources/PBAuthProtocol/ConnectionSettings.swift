#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Banana
import Logging
import PerspectiveBroker

/// The bounds on connections that both daemons share (`max_connections`,
/// `max_connections_per_source`, `idle_timeout`, `logged_in_idle_timeout`).
public struct ConnectionSettings: Sendable, Equatable {
    /// At most this many open connections in all; more are closed at once. Enough for
    /// 10,000 logged-in brokers and users with room to spare (the daemon raises its
    /// open-file limit to match).
    public var maxConnections = 16_384
    /// At most this many open connections from one IP address.
    public var maxConnectionsPerSource = 1_024
    /// Seconds a connection that has not logged in may go without completing a message.
    public var idleTimeout = 30
    /// Seconds a logged-in connection may go without a message; 0 turns it off.
    public var loggedInIdleTimeout = 3_600
    /// Failed logins in a row from one IP address answered at once; later ones are delayed.
    public var throttleFreeFailures = 5
    /// Milliseconds of the first delayed refusal; the delay doubles with each further failure.
    public var throttleBaseMilliseconds = 250
    /// Milliseconds of the longest delay.
    public var throttleMaxMilliseconds = 8_000

    /// The configuration file keys.
    public static let keys = ["max_connections", "max_connections_per_source", "idle_timeout", "logged_in_idle_timeout",
                              "throttle_free_failures", "throttle_base_ms", "throttle_max_ms"]

    /// The rates of the per-source login throttle.
    public var throttleRates: LoginThrottle.Rates {
        LoginThrottle.Rates(freeFailures: throttleFreeFailures, baseDelay: .milliseconds(throttleBaseMilliseconds),
                            maxDelay: .milliseconds(throttleMaxMilliseconds))
    }

    /// The defaults.
    public init() {}

    /// Every value given.
    public init(maxConnections: Int, maxConnectionsPerSource: Int, idleTimeout: Int, loggedInIdleTimeout: Int) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerSource = maxConnectionsPerSource
        self.idleTimeout = idleTimeout
        self.loggedInIdleTimeout = loggedInIdleTimeout
    }


    /// What a logged-in peer may send to a pbauth broker. Its largest real message, an
    /// `authenticate_account` with a full `via` path, is well under 2 KiB; 64 KiB leaves room
    /// and keeps the costliest message (one of tiny strings, each an allocation) to a few
    /// milliseconds of an event loop (`pbauth-bench hostile`); the work is linear in the size,
    /// so PB's generic 4 MiB would take about 64 times as long.
    public static let loggedInLimits = BananaLimits(maxStringBytes: 65_536, maxListCount: 4_096, maxMessageBytes: 65_536)

    /// A server configuration for `endpoint` with these bounds.
    public func serverConfiguration(_ endpoint: Endpoint) -> PBServerConfiguration {
        var strangers = PBStrangerLimits()
        strangers.idleTimeout = .seconds(idleTimeout)
        return PBServerConfiguration(
            host: endpoint.host, port: endpoint.port, limits: Self.loggedInLimits,
            maxConnections: maxConnections, maxConnectionsPerSource: maxConnectionsPerSource,
            idleTimeout: loggedInIdleTimeout > 0 ? .seconds(loggedInIdleTimeout) : nil,
            strangers: strangers)
    }

    /// Raises this process's open-file limit towards what `maxConnections` needs (plus room
    /// for the database and the listeners), up to the hard limit; warns when that is less.
    public func raiseOpenFileLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = rlim_t(maxConnections + 256)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = min(wanted, limit.rlim_max)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        if limit.rlim_cur < wanted {
            logger.warning("the open-file limit is below what max_connections needs; connections past it will fail", metadata: [
                "open_file_limit": "\(limit.rlim_cur)", "max_connections": "\(maxConnections)",
            ])
        }
    }
}
