import Metrics
import Synchronization

/// What a daemon reads off itself when its metrics are scraped: levels (connections open,
/// queue depths, file sizes) and running totals kept by code that must not pay for a metric
/// on its hot path (the worker pools, the PB server's refusals). `publish()` turns it into
/// gauges and counters.
public struct MetricsSample: Sendable {
    /// A worker pool's queue and the waits of its jobs since start.
    public struct Workers: Sendable {
        /// Jobs waiting for a thread now.
        public var queued: Int
        /// Jobs taken by a thread since start.
        public var jobs: Int64
        /// Nanoseconds jobs waited in all since start.
        public var waitNanoseconds: Int64
        /// The longest wait of one job since the previous sample, in nanoseconds.
        public var maxWaitNanoseconds: Int64

        /// Creates a worker sample.
        public init(queued: Int, jobs: Int64, waitNanoseconds: Int64, maxWaitNanoseconds: Int64) {
            self.queued = queued
            self.jobs = jobs
            self.waitNanoseconds = waitNanoseconds
            self.maxWaitNanoseconds = maxWaitNanoseconds
        }
    }

    /// The `cause` labels of refused connections (PB server causes map onto these; others are `other`).
    public static let refusalCauses = ["max_connections", "max_connections_per_source", "stopping", "other"]
    /// The `pool` labels of worker pools.
    public static let pools = ["database", "scrypt"]

    /// Open PB connections.
    public var connectionsOpen: Int?
    /// Connections refused since start, by cause.
    public var connectionsRefused: [String: Int] = [:]
    /// Failed logins throttled since start.
    public var loginsThrottled: Int?
    /// Failed TLS handshakes since start (nil without a TLS listener).
    public var tlsHandshakesFailed: Int?
    /// The worker pools, by `pools` label.
    public var workers: [String: Workers] = [:]
    /// Records waiting for the next flush.
    public var activityPending: Int?
    /// Accounts locked out now.
    public var accountsLocked: Int?
    /// The database file's size in bytes.
    public var databaseBytes: Int64?
    /// The write-ahead log's size in bytes.
    public var walBytes: Int64?

    /// An empty sample.
    public init() {}

    /// Sets the gauges and advances the counters by what the running totals grew since the
    /// previous call (a total that went down, as after a restart of its owner, starts over).
    public func publish() {
        let handles = Self.handles
        if let connectionsOpen { handles.connectionsOpen.record(connectionsOpen) }
        for (cause, total) in connectionsRefused {
            let label = Self.refusalCauses.contains(cause) ? cause : "other"
            if let counter = handles.refused[label] { Self.advance(counter, key: "refused." + cause, to: Int64(total)) }
        }
        if let loginsThrottled { Self.advance(handles.throttled, key: "throttled", to: Int64(loginsThrottled)) }
        if let tlsHandshakesFailed { Self.advance(handles.tlsFailed, key: "tls.failed", to: Int64(tlsHandshakesFailed)) }
        for (pool, sample) in workers {
            guard let pool = handles.pools[pool] else { continue }
            pool.depth.record(sample.queued)
            Self.advance(pool.jobs, key: "jobs." + pool.name, to: sample.jobs)
            let previous = Self.totals.withLock { totals in
                defer { totals["wait." + pool.name] = sample.waitNanoseconds }
                return totals["wait." + pool.name] ?? 0
            }
            let grown = sample.waitNanoseconds >= previous ? sample.waitNanoseconds - previous : sample.waitNanoseconds
            if grown > 0 { pool.wait.increment(by: Double(grown) / 1e9) }
            pool.waitMax.record(Double(sample.maxWaitNanoseconds) / 1e9)
        }
        if let activityPending { handles.activityPending.record(activityPending) }
        if let accountsLocked { handles.accountsLocked.record(accountsLocked) }
        if let databaseBytes { handles.databaseSize.record(databaseBytes) }
        if let walBytes { handles.walSize.record(walBytes) }
    }

    /// Records this build (`pbauth_build_info{version, role} 1`); call once at start.
    public static func publishBuildInfo(role: String) {
        Gauge(label: PBAuthMetrics.Name.buildInfo, dimensions: [("version", PBAuthMetrics.version), ("role", role)]).record(1)
    }

    private static let totals = Mutex([String: Int64]())

    private static func advance(_ counter: Counter, key: String, to total: Int64) {
        let previous = totals.withLock { totals in
            defer { totals[key] = total }
            return totals[key] ?? 0
        }
        let grown = total >= previous ? total - previous : total
        if grown > 0 { counter.increment(by: grown) }
    }

    private struct Pool: Sendable {
        let name: String
        let depth: Gauge
        let jobs: Counter
        let wait: FloatingPointCounter
        let waitMax: Gauge
    }

    private struct Handles: Sendable {
        let connectionsOpen = Gauge(label: PBAuthMetrics.Name.connectionsOpen)
        let refused = Dictionary(uniqueKeysWithValues: refusalCauses.map {
            ($0, Counter(label: PBAuthMetrics.Name.connectionsRefused, dimensions: [("cause", $0)]))
        })
        let throttled = Counter(label: PBAuthMetrics.Name.loginsThrottled)
        let tlsFailed = Counter(label: PBAuthMetrics.Name.tlsHandshakesFailed)
        let pools = Dictionary(uniqueKeysWithValues: MetricsSample.pools.map { name in
            (name, Pool(name: name,
                        depth: Gauge(label: PBAuthMetrics.Name.workerQueueDepth, dimensions: [("pool", name)]),
                        jobs: Counter(label: PBAuthMetrics.Name.workerJobs, dimensions: [("pool", name)]),
                        wait: FloatingPointCounter(label: PBAuthMetrics.Name.workerWait, dimensions: [("pool", name)]),
                        waitMax: Gauge(label: PBAuthMetrics.Name.workerWaitMax, dimensions: [("pool", name)])))
        })
        let activityPending = Gauge(label: PBAuthMetrics.Name.activityPending)
        let accountsLocked = Gauge(label: PBAuthMetrics.Name.accountsLocked)
        let databaseSize = Gauge(label: PBAuthMetrics.Name.databaseSize)
        let walSize = Gauge(label: PBAuthMetrics.Name.walSize)
    }

    private static let handles = Handles()
}

/// A subordinate's link to one upstream, as metrics: whether it is logged in there, how many
/// links it made and lost. One per configured upstream (a label from the configuration).
public struct UpstreamMetrics: Sendable {
    private let connected: Gauge
    private let connects: Counter
    private let losses: Counter

    /// The metrics of the link to `upstream` (`HOST:PORT` as configured); starts disconnected.
    public init(upstream: String) {
        connected = Gauge(label: PBAuthMetrics.Name.upstreamConnected, dimensions: [("upstream", upstream)])
        connects = Counter(label: PBAuthMetrics.Name.upstreamConnects, dimensions: [("upstream", upstream)])
        losses = Counter(label: PBAuthMetrics.Name.upstreamLosses, dimensions: [("upstream", upstream)])
        connected.record(0)
    }

    /// The link is logged in.
    public func didConnect() {
        connected.record(1)
        connects.increment()
    }

    /// The link was lost or closed.
    public func didDisconnect() {
        connected.record(0)
        losses.increment()
    }
}
