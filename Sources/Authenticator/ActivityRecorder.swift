import Foundation

/// Coalesces the writes that every login would otherwise cause: a session's
/// `last_seen` and the login audit records. They are kept in memory and written
/// in one transaction per flush (`flush_interval_ms`), and at shutdown. A crash
/// loses at most one interval of `last_seen` updates and login audit records;
/// sessions themselves are written before a login is answered.
final class ActivityRecorder: @unchecked Sendable {
    private let lock = NSLock()
    // Guarded by `lock`.
    private var lastSeen: [String: Int64] = [:]
    private var records: [LoginRecord] = []

    /// At most this many records wait in memory; past that, the oldest are written first at the next flush
    /// and new ones still queue (bounded by `maximumPending`, beyond which the oldest are dropped and counted).
    let maximumPending: Int
    private var dropped = 0

    init(maximumPending: Int = 100_000) {
        self.maximumPending = maximumPending
    }

    /// Notes that `session` was used at `time`.
    func sessionUsed(_ session: String, at time: Int64) {
        lock.lock()
        if (lastSeen[session] ?? 0) < time { lastSeen[session] = time }
        lock.unlock()
    }

    /// The newest use of `session` noted since the last flush.
    func pendingLastSeen(_ session: String) -> Int64? {
        lock.lock()
        defer { lock.unlock() }
        return lastSeen[session]
    }

    /// Queues an audit record.
    func record(_ entry: LoginRecord) {
        lock.lock()
        if records.count >= maximumPending {
            records.removeFirst()
            dropped += 1
        }
        records.append(entry)
        lock.unlock()
    }

    /// Takes everything queued since the last call.
    func drain() -> (lastSeen: [(sessionID: String, at: Int64)], records: [LoginRecord], dropped: Int) {
        lock.lock()
        defer { lock.unlock() }
        let seen = lastSeen.map { (sessionID: $0.key, at: $0.value) }
        let taken = records
        let lost = dropped
        lastSeen = [:]
        records = []
        dropped = 0
        return (seen, taken, lost)
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
