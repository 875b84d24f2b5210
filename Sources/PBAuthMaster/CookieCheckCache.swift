import AccountStore
import Synchronization

/// What a cookie check read of a user (the account enabled, its live sessions and their
/// verifiers), kept so that the next checks can be answered on the event loop, with no
/// database thread, for as long as the database has not changed since: the entries hold the
/// `DatabaseChangeWatch.Stamp` taken before their reads, and stand only while the watch
/// still answers that stamp. Any commit by anyone (an admin's disable or revoke, a new
/// session) makes every entry stale, and the next check reads again; only the master's own
/// activity flush, which changes nothing an entry holds, carries them over (`committed`).
///
/// Only a match with a live cookie is answered from here. Every other outcome (no such
/// account, disabled, no match, lockout, a PB password) goes to the database as before, so
/// the order of the rules, the lockout and the audit are unchanged.
final class CookieCheckCache: Sendable {
    /// A live session as the check read it, with its verifier (`md5(cookie)`, a secret).
    struct Session: Sendable {
        let id: String
        let expires: Int64
        let lastSeen: Int64
        let verifier: [UInt8]
    }

    /// One enabled user's live sessions.
    struct Entry: Sendable {
        let name: String
        let sessions: [Session]
    }

    private struct State {
        /// The state of the database every entry was read in (or carried over to, see `committed`).
        var stamp: DatabaseChangeWatch.Stamp?
        var entries: [String: Entry] = [:]
    }

    /// At most this many users are kept (past it the cache starts over), each with at most
    /// `maximumSessions` sessions (a user with more is always read from the database): a
    /// few megabytes at most, whatever names the peers send.
    static let maximumEntries = 8_192
    static let maximumSessions = 16

    private let state = Mutex(State())
    private let changes: DatabaseChangeWatch

    /// A cache whose entries stand while `changes` answers the stamp they were read at.
    init(changes: DatabaseChangeWatch) {
        self.changes = changes
    }

    /// The entry of `username` while the database is as it was read: nil when there is none
    /// or something committed since.
    func entry(_ username: String) -> Entry? {
        let (stamp, entry) = state.withLock { ($0.stamp, $0.entries[username]) }
        guard let entry, let stamp, changes.stamp() == stamp else { return nil }
        return entry
    }

    /// Keeps what a check of `username` read (an enabled user, its account named `name`, at
    /// most `maximumSessions` sessions: the caller leaves out users with more) in a read that began after `stamp` was taken. Entries
    /// read at another stamp are dropped when `stamp` is the database's state now; when it is
    /// already old, nothing is kept.
    func remember(_ username: String, name: String, stamp: DatabaseChangeWatch.Stamp, sessions: [Session]) {
        let entry = Entry(name: name, sessions: sessions)
        state.withLock { state in
            if state.stamp != stamp {
                guard changes.stamp() == stamp else { return }
                state.stamp = stamp
                state.entries.removeAll(keepingCapacity: true)
            }
            if state.entries.count >= Self.maximumEntries, state.entries[username] == nil { state.entries.removeAll(keepingCapacity: true) }
            state.entries[username] = entry
        }
    }

    /// This process committed a transaction that changed nothing an entry holds but raised
    /// sessions' `last_seen` (the activity flush: what the fast path reads from the recorder
    /// then comes from the entry, older, which only makes it stricter) and appended audit
    /// rows. `before` was taken holding the write lock, `after` after the commit: when exactly
    /// that one transaction committed in between, the entries read at `before` stand at `after`.
    func committed(before: DatabaseChangeWatch.Stamp?, after: DatabaseChangeWatch.Stamp?) {
        guard let before, let after, before.isFollowedByOneCommit(after) else { return }
        state.withLock { state in
            if state.stamp == before { state.stamp = after }
        }
    }
}
