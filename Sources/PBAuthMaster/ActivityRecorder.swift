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
final class ActivityRecorder: Sendable {
    private struct Pending {
        var lastSeen: [String: Int64] = [:]
        var records: [LoginRecord] = []
        var dropped = 0

        mutating func noteUse(of session: String, at time: Int64) {
            if (lastSeen[session] ?? 0) < time { lastSeen[session] = time }
        }
    }

    private let pending = Mutex(Pending())

    /// At most this many records wait in memory; past that new ones are dropped (and counted).
    let maximumPending: Int
    /// When this many records wait, `wantsFlush` is called (once per flush).
    let flushThreshold: Int
    private let wantsFlush: @Sendable () -> Void

    init(maximumPending: Int = 100_000, flushThreshold: Int = 512, wantsFlush: @escaping @Sendable () -> Void = {}) {
        self.maximumPending = maximumPending
        self.flushThreshold = flushThreshold
        self.wantsFlush = wantsFlush
    }

    /// Notes that `session` was used at `time`.
    func sessionUsed(_ session: String, at time: Int64) {
        pending.withLock { pending in pending.noteUse(of: session, at: time) }
    }

    /// The newest use of `session` noted since the last flush.
    func pendingLastSeen(_ session: String) -> Int64? {
        pending.withLock { $0.lastSeen[session] }
    }

    /// Queues an audit record.
    func record(_ entry: LoginRecord) {
        let reachedThreshold = pending.withLock { pending in
            guard pending.records.count < maximumPending else {
                pending.dropped += 1
                return false
            }
            pending.records.append(entry)
            return pending.records.count == flushThreshold
        }
        if reachedThreshold { wantsFlush() }
    }

    /// Puts back what `drain` took when writing it failed: it goes out with the next flush.
    /// Uses noted since then win where newer; records beyond `maximumPending` are dropped (and counted).
    func restore(_ taken: (lastSeen: [(sessionID: String, at: Int64)], records: [LoginRecord], dropped: Int)) {
        pending.withLock { pending in
            for use in taken.lastSeen { pending.noteUse(of: use.sessionID, at: use.at) }
            let room = max(0, maximumPending - pending.records.count)
            pending.records.insert(contentsOf: taken.records.prefix(room), at: 0)
            pending.dropped += taken.dropped + max(0, taken.records.count - room)
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
