import Logging
import Synchronization

/// Per-source throttling of failed logins: after `freeFailures` failures in a row from one
/// IP address, each further refusal from it is answered only after a delay that doubles
/// from `baseDelay` up to `maxDelay`. Other sources are not slowed; a success from the
/// source, or `forgetAfter` without a failure, starts it over. The delay holds only the
/// caller's own call (a task sleeps; no thread and no event loop waits), and a connection
/// that has not logged in has at most 4 calls running.
public final class LoginThrottle: Sendable {
    /// The rates, all settings of the daemons.
    public struct Rates: Sendable, Equatable {
        /// Failures in a row from one source that are answered at once.
        public var freeFailures: Int
        /// The delay of the first throttled refusal; it doubles with each further failure.
        public var baseDelay: Duration
        /// The longest delay.
        public var maxDelay: Duration
        /// A source without a failure for this long starts over.
        public var forgetAfter: Duration

        /// Creates rates; the defaults are the daemons'.
        public init(freeFailures: Int = 5, baseDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(8),
                    forgetAfter: Duration = .seconds(600)) {
            self.freeFailures = freeFailures
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
            self.forgetAfter = forgetAfter
        }
    }

    private struct Source {
        var failures: Int
        var lastFailure: ContinuousClock.Instant
    }

    private struct State {
        var sources: [String: Source] = [:]
        var throttled = 0
    }

    /// At most this many sources are remembered; past it the ones quiet longest are forgotten.
    static let maxSources = 65_536

    private let rates: Rates
    private let logger: Logger
    private let state = Mutex(State())

    /// A throttle with `rates`; throttled attempts are logged to `logger`.
    public init(rates: Rates = Rates(), logger: Logger) {
        self.rates = rates
        self.logger = logger
    }

    /// Counts a failed login from `source` (an "ip:port" or "[ip]:port" address) and waits the
    /// delay it earns, if any; logs and counts a throttled attempt.
    public func failed(source: String) async {
        let host = Self.host(of: source)
        let now = ContinuousClock.now
        let (delay, throttledSoFar) = state.withLock { state -> (Duration, Int) in
            var entry = state.sources[host] ?? Source(failures: 0, lastFailure: now)
            if now - entry.lastFailure >= rates.forgetAfter { entry.failures = 0 }
            entry.failures += 1
            entry.lastFailure = now
            state.sources[host] = entry
            if state.sources.count > Self.maxSources { Self.forgetQuietest(&state.sources) }
            let over = entry.failures - rates.freeFailures
            guard over > 0 else { return (.zero, state.throttled) }
            state.throttled += 1
            let doubling = min(over - 1, 30)
            let delay = min(rates.maxDelay, rates.baseDelay * (1 << doubling))
            return (delay, state.throttled)
        }
        guard delay > .zero else { return }
        logger.notice("throttled a failed login", metadata: [
            "source": "\(host)", "delay_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
            "throttled_total": "\(throttledSoFar)",
        ])
        try? await Task.sleep(for: delay)
    }

    /// A successful login from `source`: it starts over.
    public func succeeded(source: String) {
        let host = Self.host(of: source)
        _ = state.withLock { $0.sources.removeValue(forKey: host) }
    }

    /// How many attempts were throttled since start.
    public var throttledAttempts: Int { state.withLock { $0.throttled } }

    /// The IP address of an "ip:port" or "[ip]:port" address.
    static func host(of address: String) -> String {
        guard let colon = address.lastIndex(of: ":") else { return address }
        var host = address[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return String(host)
    }

    private static func forgetQuietest(_ sources: inout [String: Source]) {
        let keep = sources.sorted { $0.value.lastFailure > $1.value.lastFailure }.prefix(maxSources / 2)
        sources = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
    }
}
