import Foundation
import PBAuthMetrics
import PBAuthProtocol
import Synchronization

/// Coalesces the writes that every login would otherwise cause: a session's
/// `last_seen` and the login audit records. They are kept in memory and written
/// in one transaction per flush: every `flush_interval_ms`, as soon as
/// `flushThreshold` records wait, and at shutdown. A crash loses at most one
/// interval of `last_seen` updates and login audit records; sessions themselves
/// are written before a login is answered.
///
/// The threshold keeps each flush small under load. Measured at about 60,000
/// checks/s: with only the 1 s interval, each flush wrote some 60,000 rows and
/// stalled every check in flight for 10 ms or more several times a second.
///
/// Failed logins are coalesced per source (see `FailureCoalescing`), so that a flood of
/// them cannot grow the audit log without bound.
final class ActivityRecorder: Sendable {
    private struct Pending {
        var lastSeen: [String: Int64] = [:]
        /// The uses the last `drain` took, until `written` says they are in the database: a
        /// check that reads the database meanwhile must still count them (or a session in use
        /// could look idle while its last use is being written).
        var beingWritten: [String: Int64] = [:]
        var records: [LoginRecord] = []
        var dropped = 0
        var failures = FailureCoalescing()

        mutating func noteUse(of session: String, at time: Int64) {
            if (lastSeen[session] ?? 0) < time { lastSeen[session] = time }
        }
    }

    private let pending = Mutex(Pending())

    /// At most this many records wait in memory; past that new ones are dropped (and counted).
    let maximumPending: Int
    /// When this many records wait, `wantsFlush` is called (once per flush).
    let flushThreshold: Int
    /// Past this many waiting records, checks are no longer answered at once (`recordCookieLogin`).
    var backlog: Int { min(maximumPending, 8 * flushThreshold) }
    private let wantsFlush: @Sendable () -> Void

    private let now: @Sendable () -> Int64

    init(maximumPending: Int = 100_000, flushThreshold: Int = 512, wantsFlush: @escaping @Sendable () -> Void = {},
         now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.maximumPending = maximumPending
        self.flushThreshold = flushThreshold
        self.wantsFlush = wantsFlush
        self.now = now
    }

    /// Notes that `session` was used at `time`.
    func sessionUsed(_ session: String, at time: Int64) {
        pending.withLock { pending in pending.noteUse(of: session, at: time) }
    }

    /// Notes that `session` was used at `entry.time` and queues `entry`, a successful cookie
    /// check answered at once (`sessionUsed` and `record` in one lock, with the counter found
    /// once). Refuses (answers false, notes nothing) while `backlog` records or more wait:
    /// then the check goes to the database threads instead, which wait behind the flush, so
    /// that checks slow down to the pace the audit log is written at instead of outrunning it
    /// and having their records dropped.
    func recordCookieLogin(_ entry: LoginRecord, session: String) -> Bool {
        let (admitted, reachedThreshold) = pending.withLock { pending -> (Bool, Bool) in
            guard pending.records.count < backlog else { return (false, false) }
            pending.noteUse(of: session, at: entry.time)
            pending.records.append(entry)
            return (true, pending.records.count == flushThreshold)
        }
        if admitted, let method = PBAuthMetrics.LoginMethod(rawValue: entry.action) { PBAuthMetrics.loginSucceededByCookie(method) }
        if reachedThreshold { wantsFlush() }
        return admitted
    }

    /// The newest use of `session` noted since the last flush.
    func pendingLastSeen(_ session: String) -> Int64? {
        pending.withLock { pending in
            switch (pending.lastSeen[session], pending.beingWritten[session]) {
            case (let noted?, let writing?): max(noted, writing)
            case (let noted, let writing): noted ?? writing
            }
        }
    }

    /// What the last `drain` took is committed: its uses are the database's to answer now.
    func written() {
        pending.withLock { $0.beingWritten.removeAll() }
    }

    /// Queues an audit record (a failed login may only be counted in its source's summary)
    /// and counts a login outcome in the metrics.
    func record(_ entry: LoginRecord) {
        if let method = PBAuthMetrics.LoginMethod(rawValue: entry.action) {
            PBAuthMetrics.login(method, outcome: entry.outcome, reason: entry.reason)
        }
        let (reachedThreshold, dropped, coalesced) = pending.withLock { pending -> (Bool, Bool, Bool) in
            if entry.outcome == "failure", PBAuthMetrics.LoginMethod(rawValue: entry.action) != nil,
               !pending.failures.admit(entry) {
                return (false, false, true)
            }
            guard pending.records.count < maximumPending else {
                pending.dropped += 1
                return (false, true, false)
            }
            pending.records.append(entry)
            return (pending.records.count == flushThreshold, false, false)
        }
        if dropped { PBAuthMetrics.activityDropped(1) }
        if coalesced { PBAuthMetrics.failuresCoalesced(1) }
        if reachedThreshold { wantsFlush() }
    }

    /// How many records and `last_seen` updates wait for the next flush.
    var pendingCount: Int {
        pending.withLock { $0.records.count + $0.lastSeen.count }
    }

    /// Ends the current window of failure coalescing now (at shutdown): its summary rows go
    /// out with the next drain.
    func closeFailureWindow() {
        pending.withLock { pending in
            let summaries = pending.failures.close()
            pending.records.append(contentsOf: summaries)
        }
    }

    /// Puts back what `drain` took when writing it failed: it goes out with the next flush.
    /// Uses noted since then win where newer; records beyond `maximumPending` are dropped (and counted).
    func restore(_ taken: (lastSeen: [(sessionID: String, at: Int64)], records: [LoginRecord], dropped: Int)) {
        pending.withLock { pending in
            pending.beingWritten.removeAll()
            for use in taken.lastSeen { pending.noteUse(of: use.sessionID, at: use.at) }
            let room = max(0, maximumPending - pending.records.count)
            pending.records.insert(contentsOf: taken.records.prefix(room), at: 0)
            pending.dropped += taken.dropped + max(0, taken.records.count - room)
        }
    }

    /// Takes everything queued since the last call, with the summaries of a coalescing window that is over.
    func drain() -> (lastSeen: [(sessionID: String, at: Int64)], records: [LoginRecord], dropped: Int) {
        let time = now()
        let taken = pending.withLock { pending in
            if pending.failures.isOver(at: time) { pending.records.append(contentsOf: pending.failures.close()) }
            let failures = pending.failures
            defer {
                let taken = pending.lastSeen
                pending = Pending()
                pending.failures = failures
                pending.beingWritten = taken
            }
            return pending
        }
        return (taken.lastSeen.map { (sessionID: $0.key, at: $0.value) }, taken.records, taken.dropped)
    }
}

/// One login or check outcome, for the audit log. Holds no secret.
struct LoginRecord: Sendable {
    /// Unix seconds.
    var time: Int64
    /// What was attempted: `login`, `authenticate`, `authenticate_account`, `logout`, `revoke_session`.
    var action: String
    /// The account the attempt named.
    var account: String
    /// `success` or `failure`.
    var outcome: String
    /// The precise reason (an `AuthenticationFailure` type name, or how it succeeded).
    var reason: String
    /// The broker principals the request came through, nearest the user first.
    var brokerPath: [String]
    /// The user's address as the first broker saw it.
    var source: String
}

/// How failed logins reach the audit log: in each window of `windowSeconds` (by the records'
/// times), the first `rowsPerSource` failures from one source (IP address) get a row each,
/// and at most `rowsPerWindow` failures in all; every further failure is only counted, and
/// when the window ends one summary row per source and reason says how many there were
/// (`login.failures_coalesced`, reason "N further failed logins in 60 s (pbauth.LockedOut)").
/// At most `maxSources` (source, reason) pairs are counted apart; the rest share one summary
/// row with source `*`.
///
/// So a flood adds at most `rowsPerWindow` + `maxSources` + 1 rows per window, about
/// 2,000 a minute with the defaults, whatever its rate or number of sources; a failure from
/// a quiet source is still recorded in full. Successes are never coalesced.
struct FailureCoalescing: Sendable {
    static let windowSeconds: Int64 = 60
    static let rowsPerSource = 10
    static let rowsPerWindow = 1_000
    static let maxSources = 1_000

    private var windowStart: Int64?
    private var rowsBySource: [String: Int] = [:]
    private var rows = 0
    private struct Key: Hashable {
        let source: String
        let reason: String
    }
    private var coalescedBySource: [Key: Int] = [:]
    private var coalescedElsewhere = 0

    /// Whether `entry` (a failure) gets a row of its own; otherwise it is counted for the summary.
    mutating func admit(_ entry: LoginRecord) -> Bool {
        // A record past the window's end still counts in it: the window ends when a drain
        // takes its summaries (`isOver`), at most one flush interval late.
        if windowStart == nil { windowStart = entry.time }
        let source = Self.host(of: entry.source)
        let used = rowsBySource[source, default: 0]
        if used < Self.rowsPerSource, rows < Self.rowsPerWindow {
            if rowsBySource.count < Self.maxSources || rowsBySource[source] != nil {
                rowsBySource[source] = used + 1
            }
            rows += 1
            return true
        }
        // The reason is a failure type name, one of a few, never text a peer chose.
        let key = Key(source: source, reason: entry.reason.hasPrefix("pbauth.") ? entry.reason : "other")
        if coalescedBySource[key] != nil || coalescedBySource.count < Self.maxSources {
            coalescedBySource[key, default: 0] += 1
        } else {
            coalescedElsewhere += 1
        }
        return false
    }

    /// Whether the window began more than `windowSeconds` before `time`.
    func isOver(at time: Int64) -> Bool {
        guard let windowStart else { return false }
        return time >= windowStart + Self.windowSeconds
    }

    /// Ends the window: answers its summary rows and starts over.
    mutating func close() -> [LoginRecord] {
        defer { self = FailureCoalescing() }
        guard let windowStart else { return [] }
        let end = windowStart + Self.windowSeconds
        var summaries = coalescedBySource.sorted { ($0.key.source, $0.key.reason) < ($1.key.source, $1.key.reason) }.map { key, count in
            Self.summary(count: count, source: key.source, reason: key.reason, time: end)
        }
        if coalescedElsewhere > 0 { summaries.append(Self.summary(count: coalescedElsewhere, source: "*", reason: "any", time: end)) }
        return summaries
    }

    private static func summary(count: Int, source: String, reason: String, time: Int64) -> LoginRecord {
        LoginRecord(time: time, action: "login.failures_coalesced", account: "", outcome: "failure",
                    reason: "\(count) further failed logins in \(windowSeconds) s (\(reason))", brokerPath: [], source: source)
    }

    /// The IP address of an "ip:port" or "[ip]:port" address (the port changes with every connection).
    static func host(of address: String) -> String {
        guard let colon = address.lastIndex(of: ":") else { return address }
        var host = address[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        else if host.contains(":") { return address }  // a bare IPv6 address without a port
        return String(host)
    }
}
