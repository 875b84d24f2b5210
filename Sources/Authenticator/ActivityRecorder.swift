import Synchronization

/// Coalesces the writes that every login would otherwise cause: a session's
/// `last_seen` and the login audit records. They are kept in memory and written
/// in one transaction per flush (`flush_interval_ms`), and at shutdown. A crash
/// loses at most one interval of `last_seen` updates and login audit records;
/// sessions themselves are written before a login is answered.
final class ActivityRecorder: Sendable {
    private struct Pending {
        var lastSeen: [String: Int64] = [:]
        var records: [LoginRecord] = []
        var dropped = 0
    }

    private let pending = Mutex(Pending())

    /// At most this many records wait in memory; past that the oldest are dropped (and counted).
    let maximumPending: Int

    init(maximumPending: Int = 100_000) {
        self.maximumPending = maximumPending
    }

    /// Notes that `session` was used at `time`.
    func sessionUsed(_ session: String, at time: Int64) {
        pending.withLock { pending in
            if (pending.lastSeen[session] ?? 0) < time { pending.lastSeen[session] = time }
        }
    }

    /// The newest use of `session` noted since the last flush.
    func pendingLastSeen(_ session: String) -> Int64? {
        pending.withLock { $0.lastSeen[session] }
    }

    /// Queues an audit record.
    func record(_ entry: LoginRecord) {
        pending.withLock { pending in
            if pending.records.count >= maximumPending {
                pending.records.removeFirst()
                pending.dropped += 1
            }
            pending.records.append(entry)
        }
    }

    /// Takes everything queued since the last call.
    func drain() -> (lastSeen: [(sessionID: String, at: Int64)], records: [LoginRecord], dropped: Int) {
        let taken = pending.withLock { pending in
            defer { pending = Pending() }
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
