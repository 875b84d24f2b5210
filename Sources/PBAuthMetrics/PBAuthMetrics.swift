import Metrics

/// Every metric pbauth records, by name, in one place; `README.md` ("Running in production")
/// lists the same names.
///
/// The metrics go through swift-metrics to whatever backend the process bootstrapped (the
/// daemons bootstrap Prometheus when `http_listen` is set; a library user that bootstrapped
/// nothing records into swift-metrics' no-op backend).
///
/// Every label value comes from a fixed set known here, never from a peer (no usernames,
/// addresses or method names as sent): whatever a peer does, the registry cannot grow.
/// The handles are made once, on first use, and kept in immutable tables, so recording on
/// the per-check path costs one dictionary lookup and the backend's own update (an atomic).
/// Handles are bound to the backend in force when first used: a daemon bootstraps before it
/// builds its services.
public enum PBAuthMetrics {
    /// The metric names (Prometheus style: `pbauth_` prefix, unit suffix).
    public enum Name {
        /// Counter: logins and forwarded checks, by `method`, `outcome` and `reason`.
        public static let logins = "pbauth_logins_total"
        /// Counter: calls to broker avatars (the checker service), by `method` and `outcome`.
        public static let brokerCalls = "pbauth_broker_calls_total"
        /// Histogram (seconds): how long a check took, by `path` (`portal` or `broker`).
        public static let checkDuration = "pbauth_check_duration_seconds"
        /// Gauge: open PB connections.
        public static let connectionsOpen = "pbauth_connections_open"
        /// Counter: PB connections refused as they were accepted, by `cause`.
        public static let connectionsRefused = "pbauth_connections_refused_total"
        /// Counter: failed logins answered late by the per-source throttle.
        public static let loginsThrottled = "pbauth_logins_throttled_total"
        /// Counter: TLS handshakes that failed at a TLS listener (not TLS, nothing acceptable
        /// offered, no valid client certificate, closed midway).
        public static let tlsHandshakesFailed = "pbauth_tls_handshakes_failed_total"
        /// Gauge: jobs waiting for a worker thread, by `pool` (`database` or `scrypt`).
        public static let workerQueueDepth = "pbauth_worker_queue_depth"
        /// Counter: jobs a worker thread took, by `pool`.
        public static let workerJobs = "pbauth_worker_jobs_total"
        /// Counter: seconds jobs waited for a worker thread in all, by `pool` (divide by the jobs for the mean).
        public static let workerWait = "pbauth_worker_wait_seconds_total"
        /// Gauge: the longest wait of one job since the previous scrape, by `pool`.
        public static let workerWaitMax = "pbauth_worker_wait_max_seconds"
        /// Gauge: `last_seen` updates and audit records waiting in memory for the next flush.
        public static let activityPending = "pbauth_activity_pending"
        /// Counter: audit records dropped because too many waited (the database could not keep up).
        public static let activityDropped = "pbauth_activity_dropped_total"
        /// Counter: failed logins written as part of a per-source summary row instead of a row each.
        public static let auditCoalesced = "pbauth_audit_failures_coalesced_total"
        /// Gauge: accounts locked out now.
        public static let accountsLocked = "pbauth_accounts_locked"
        /// Counter: sessions deleted by retention.
        public static let sessionsDeleted = "pbauth_sessions_deleted_total"
        /// Gauge: 1 while the subordinate is logged in at this upstream, else 0; by `upstream`.
        public static let upstreamConnected = "pbauth_upstream_connected"
        /// Counter: logins at an upstream that made a link, by `upstream` (the first one and every reconnection).
        public static let upstreamConnects = "pbauth_upstream_connects_total"
        /// Counter: links to an upstream that were lost or broken off, by `upstream`.
        public static let upstreamLosses = "pbauth_upstream_losses_total"
        /// Gauge: bytes of the database file.
        public static let databaseSize = "pbauth_database_bytes"
        /// Gauge: bytes of the database's write-ahead log.
        public static let walSize = "pbauth_database_wal_bytes"
        /// Gauge, always 1: the build, by `version` and `role`.
        public static let buildInfo = "pbauth_build_info"
    }

    /// This build's version, as `pbauth_build_info` reports it. pbauth has had no release
    /// yet; a release sets it, and the wire contract keeps its own number (protocol.md).
    public static let version = "0.1.0-dev"

    // MARK: Logins

    /// How a login or check reached the broker that counts it.
    public enum LoginMethod: String, CaseIterable, Sendable {
        /// A PB portal login (challenge-response with a cookie, a PB password or a token).
        case login
        /// The master's `authenticate(username, password)`.
        case authenticate
        /// A check forwarded by a broker principal (`authenticate_account`).
        case authenticateAccount = "authenticate_account"
    }

    /// The `reason` labels of a success.
    public static let successReasons = ["cookie", "password", "token"]
    /// The `reason` labels of a failure: pbauth's failure type names without `pbauth.`, and `other`.
    public static let failureReasons = [
        "NoSuchAccount", "InvalidPassword", "AuthenticationCookieMismatch", "AccountDisabled", "LockedOut",
        "HopLimitExceeded", "NoAuthenticationCookie", "UpstreamUnavailable", "Overloaded", "other",
    ]

    private struct LoginKey: Hashable {
        let method: LoginMethod
        let reason: String
    }

    private static let loginCounters: [LoginKey: Counter] = {
        var table: [LoginKey: Counter] = [:]
        for method in LoginMethod.allCases {
            for (outcome, reasons) in [("success", successReasons), ("failure", failureReasons)] {
                for reason in reasons {
                    table[LoginKey(method: method, reason: reason)] = Counter(
                        label: Name.logins, dimensions: [("method", method.rawValue), ("outcome", outcome), ("reason", reason)])
                }
            }
        }
        return table
    }()

    /// Counts a login that succeeded; `reason` is how (`cookie`, `password`, `broker token` or `token`).
    public static func loginSucceeded(_ method: LoginMethod, reason: String) {
        let label = reason == "broker token" ? "token" : reason
        loginCounters[LoginKey(method: method, reason: successReasons.contains(label) ? label : "password")]?.increment()
    }

    /// Counts a login that succeeded with a cookie: `loginSucceeded(method, reason: "cookie")`
    /// with its counter found once (the hot path of every broker).
    public static func loginSucceededByCookie(_ method: LoginMethod) {
        switch method {
        case .login: cookieLogins.login?.increment()
        case .authenticate: cookieLogins.authenticate?.increment()
        case .authenticateAccount: cookieLogins.authenticateAccount?.increment()
        }
    }

    private static let cookieLogins = (
        login: loginCounters[LoginKey(method: .login, reason: "cookie")],
        authenticate: loginCounters[LoginKey(method: .authenticate, reason: "cookie")],
        authenticateAccount: loginCounters[LoginKey(method: .authenticateAccount, reason: "cookie")]
    )

    /// Counts a refused login; `typeName` is the failure's type name (`pbauth.NoSuchAccount`),
    /// anything unknown counts as `other`.
    public static func loginFailed(_ method: LoginMethod, typeName: String?) {
        let label = typeName.map { $0.hasPrefix("pbauth.") ? String($0.dropFirst(7)) : $0 } ?? "other"
        let key = LoginKey(method: method, reason: label)
        (loginCounters[key] ?? loginCounters[LoginKey(method: method, reason: "other")])?.increment()
    }

    /// Counts an outcome as the audit log records it (`outcome` `success` or `failure`; `reason`
    /// a success reason or a failure type name).
    public static func login(_ method: LoginMethod, outcome: String, reason: String) {
        if outcome == "success" { loginSucceeded(method, reason: reason) } else { loginFailed(method, typeName: reason) }
    }

    // MARK: Broker calls and check latency

    /// The `method` labels of broker calls; any other method counts as `other`.
    public static let brokerMethods = ["authenticate_account", "get_account", "account_status", "revoke_session", "ping", "other"]
    /// The `outcome` labels of broker calls: answered, refused with a pbauth failure, or failed otherwise.
    public enum CallOutcome: String, CaseIterable, Sendable {
        /// Answered.
        case success
        /// Refused with one of pbauth's failures.
        case failure
        /// Failed otherwise (bad arguments, no such method, an internal error).
        case error
    }

    private struct CallKey: Hashable {
        let method: String
        let outcome: CallOutcome
    }

    private static let callCounters: [CallKey: Counter] = {
        var table: [CallKey: Counter] = [:]
        for method in brokerMethods {
            for outcome in CallOutcome.allCases {
                table[CallKey(method: method, outcome: outcome)] = Counter(
                    label: Name.brokerCalls, dimensions: [("method", method), ("outcome", outcome.rawValue)])
            }
        }
        return table
    }()

    /// Counts an `authenticate_account` call answered: `brokerCall("authenticate_account", .success)`
    /// with its counter found once.
    public static func authenticateAccountAnswered() {
        authenticateAccountSuccess?.increment()
    }

    private static let authenticateAccountSuccess = callCounters[CallKey(method: "authenticate_account", outcome: .success)]

    /// Counts one call to a broker avatar; `method` is the name as called (mapped to `other` when unknown).
    public static func brokerCall(_ method: String, _ outcome: CallOutcome) {
        (callCounters[CallKey(method: method, outcome: outcome)] ?? callCounters[CallKey(method: "other", outcome: outcome)])?.increment()
    }

    /// Where a check was asked: at the broker's own PB portal, or by a broker principal.
    public enum CheckPath: String, CaseIterable, Sendable {
        /// A login at this broker's portal.
        case portal
        /// `authenticate_account` from a broker principal.
        case broker
    }

    /// The histogram buckets of `pbauth_check_duration_seconds`: checks take from tens of
    /// microseconds (a cookie at the master) to seconds (scrypt, an upstream far away).
    public static let checkDurationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2_500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .microseconds(2_500_000), .seconds(5), .seconds(10),
    ]

    private static let checkTimers: [CheckPath: Timer] = Dictionary(uniqueKeysWithValues: CheckPath.allCases.map {
        ($0, Timer(label: Name.checkDuration, dimensions: [("path", $0.rawValue)]))
    })

    /// Records how long one check took.
    public static func checkTook(_ duration: Duration, path: CheckPath) {
        checkTimers[path]?.recordNanoseconds(duration.wholeNanoseconds)
    }

    /// Makes every handle now, so that a scrape shows each series (at 0) from the start.
    public static func registerAll() {
        _ = loginCounters.count
        _ = callCounters.count
        _ = checkTimers.count
        _ = (droppedCounter, coalescedCounter, deletedCounter)
    }

    // MARK: Rare events

    /// Counts audit records dropped because too many waited.
    public static func activityDropped(_ count: Int) {
        guard count > 0 else { return }
        droppedCounter.increment(by: count)
    }

    /// Counts failed logins folded into summary rows.
    public static func failuresCoalesced(_ count: Int) {
        guard count > 0 else { return }
        coalescedCounter.increment(by: count)
    }

    /// Counts sessions deleted by retention.
    public static func sessionsDeleted(_ count: Int) {
        guard count > 0 else { return }
        deletedCounter.increment(by: count)
    }

    private static let droppedCounter = Counter(label: Name.activityDropped)
    private static let coalescedCounter = Counter(label: Name.auditCoalesced)
    private static let deletedCounter = Counter(label: Name.sessionsDeleted)
}

extension Duration {
    /// The duration in whole nanoseconds (saturating at `Int64.max`).
    var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled &+ attoseconds / 1_000_000_000
    }
}
