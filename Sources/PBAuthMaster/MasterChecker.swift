import PBAuthProtocol
import AccountStore
import Banana
import Foundation
import PerspectiveBroker

/// The master's checker: answers from the SQLite database, on the store's own threads
/// (never on an event loop). Quick reads and writes use the database threads; scrypt,
/// which takes a large fraction of a second, runs on the password threads, whose count
/// caps how many hashes run at once so that a flood of password logins cannot starve
/// cookie checks.
final class MasterChecker: Checker {
    let pool: AccountStorePool
    private let configuration: MasterConfiguration
    let activity: ActivityRecorder
    /// Which names may make broker calls, cached for at most a second, and their connections.
    let principals = BrokerPrincipals()
    /// Users' live sessions as the last check read them, while the database has not changed.
    let cookies: CookieCheckCache
    /// Rings when a flush is due before the next interval (enough records wait).
    let flushRequests: AsyncStream<Void>
    private let flushRequester: AsyncStream<Void>.Continuation
    private let now: @Sendable () -> Int64

    /// Opens the database with one connection per worker thread. Throws the store's errors
    /// (not a pbauth database, pending migrations, newer than this build).
    init(configuration: MasterConfiguration, now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws {
        self.configuration = configuration
        self.now = now
        let (requests, requester) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        (flushRequests, flushRequester) = (requests, requester)
        activity = ActivityRecorder(wantsFlush: { requester.yield() })
        // Password threads in the background: under cookie-check load a hash takes longer, and
        // checks keep their latency (mixed load, A/B: check p99 ratio 1.24-1.55 with SCHED_IDLE
        // against 1.61-1.73 at nice 19; passwords 1.3-1.5/s against 1.7-1.9/s; alone, 4.5/s either way).
        pool = try AccountStorePool(
            databasePath: configuration.database, keyPath: configuration.resolvedKeyFile,
            configuration: configuration.storeConfiguration,
            threads: AccountStorePool.Threads(database: configuration.databaseThreads, passwords: configuration.passwordThreads,
                                              databaseQueue: configuration.databaseQueue, passwordQueue: configuration.passwordQueue))
        cookies = CookieCheckCache(changes: pool.changes)
    }

    /// Writes what the activity recorder holds; called periodically and at shutdown.
    /// Answers how many login records were dropped since the last flush because too
    /// many were waiting (the database could not keep up).
    @discardableResult
    func flush() async throws -> Int {
        let pending = activity.drain()
        guard !pending.lastSeen.isEmpty || !pending.records.isEmpty else { return pending.dropped }
        let changes = pool.changes
        do {
            let (before, after) = try await pool.write(bounded: false) { store in
                // Taken holding the write lock (BEGIN IMMEDIATE), then after the commit.
                let before = try store.writeTransaction {
                    let before = changes.stamp()
                    try store.recordActivity(lastSeen: pending.lastSeen, audit: pending.records.map(\.auditEntry))
                    return before
                }
                return (before, changes.stamp())
            }
            activity.written()
            cookies.committed(before: before, after: after)
        } catch {
            // Nothing is lost to a failed write (a lock held too long): the next flush tries again.
            activity.restore(pending)
            throw error
        }
        return pending.dropped
    }

    /// Asks the flush loop to write now (its timer calls this every `flush_interval_ms`).
    func requestFlush() {
        flushRequester.yield()
    }

    /// Writes what is pending and closes every connection.
    func close() async {
        flushRequester.finish()
        _ = try? await flush()
        pool.close()
    }

    // MARK: The store's threads, their full queues as `AuthenticationFailure.overloaded`

    private func read<Result: Sendable>(_ body: @escaping @Sendable (AccountStore) throws -> Result) async throws -> Result {
        do { return try await pool.read(body) } catch WorkerPoolError.overloaded { throw AuthenticationFailure.overloaded }
    }

    private func write<Result: Sendable>(_ body: @escaping @Sendable (AccountStore) throws -> Result) async throws -> Result {
        do { return try await pool.write(body) } catch WorkerPoolError.overloaded { throw AuthenticationFailure.overloaded }
    }

    private func hashPassword<Result: Sendable>(_ body: @escaping @Sendable (AccountStore) throws -> Result) async throws -> Result {
        do { return try await pool.hashPassword(body) } catch WorkerPoolError.overloaded { throw AuthenticationFailure.overloaded }
    }

    // MARK: Checker

    func authenticateAccount(username: String, challenge: [UInt8], response: [UInt8], via: [String], source: String) async throws -> AuthenticationStatus {
        let time = now()
        let configuration = self.configuration
        let activity = self.activity
        let principals = self.principals
        let cookies = self.cookies, changes = pool.changes
        // The check only reads, and checks that arrive together share one read transaction;
        // the rare outcomes that write (a failure to count, a session to start) write after.
        let step = try await read { store in
            // Taken before this job's first read (or, in a batch, before its transaction began).
            let stamp = store.snapshotStamp ?? changes.stamp()
            // The path first: a call through a revoked broker principal decides nothing else.
            if let refusal = try principals.refusal(of: via, store: store) { return CheckStep.decided(.failure(refusal)) }
            return try Self.checkChallenge(store: store, username: username, challenge: challenge, response: response,
                                           now: time, configuration: configuration, activity: activity,
                                           remember: stamp.map { stamp in { cookies.remember(username, name: $0, stamp: stamp, sessions: $1) } })
        }
        let result: CheckResult
        switch step {
        case .decided(let decided):
            result = decided
        case .write(let change):
            result = try await write { store in
                try Self.apply(change, store: store, path: via, source: source, now: time, configuration: configuration)
            }
        }
        activity.record(LoginRecord(time: time, action: via.isEmpty ? "login" : "authenticate_account", account: username,
                                    outcome: result.outcome, reason: result.reason, brokerPath: via, source: source))
        return try result.get()
    }

    /// The check of a cookie that matches a live session as the last check of `username` read
    /// it, answered at once on the caller's thread (an event loop): only while the database has
    /// not changed since that read and the path's principals are cached as enabled. Nil: no
    /// such answer, ask `authenticateAccount`. Audited and counted as that one would be.
    func authenticateAccountAtOnce(username: String, challenge: [UInt8], response: [UInt8], via: [String], source: String) -> AuthenticationStatus? {
        guard let entry = cookies.entry(username), case .success? = principals.cachedVerdict(via) else { return nil }
        let time = now()
        let idleLimit = configuration.idleLimit
        for session in entry.sessions where session.expires > time {
            guard Self.isWithinIdleLimit(session: session.id, lastSeen: session.lastSeen, now: time, idleLimit: idleLimit, activity: activity),
                  PBLoginChallenge.responseMatches(response, hashedSecret: session.verifier, challenge: challenge) else { continue }
            let status = AuthenticationStatus(username: entry.name, kind: .user, master: false, session: session.id,
                                              expires: Self.effectiveExpiry(session.expires, now: time, configuration: configuration))
            // While the audit log lags behind, the full check answers (and waits its turn).
            guard activity.recordCookieLogin(LoginRecord(time: time, action: via.isEmpty ? "login" : "authenticate_account",
                                                         account: username, outcome: "success", reason: "cookie",
                                                         brokerPath: via, source: source),
                                             session: session.id) else { return nil }
            return status
        }
        return nil
    }

    /// Checks a clear password (the master's root method `authenticate`) and starts a session.
    func authenticatePassword(username: String, password: [UInt8], source: String) async throws -> AuthenticationStatus {
        let time = now()
        let configuration = self.configuration
        let threshold = configuration.lockoutThreshold
        // A guess takes its place in the count before the slow check (one write, refused
        // when the account is locked): concurrency cannot get more guesses checked.
        let (account, refusal): (Account?, AuthenticationFailure?) = try await write { store in
            guard let account = try store.account(named: username) else { return (nil, .noSuchAccount) }
            if account.disabled { return (account, .accountDisabled) }
            if account.kind != .user { return (account, .invalidPassword) }
            guard try store.reservePasswordAttempt(accountID: account.id, now: time, threshold: threshold) else {
                return (account, .lockedOut)
            }
            return (account, nil)
        }
        let result: CheckResult = try await hashPassword { store in
            guard let account, refusal == nil else {
                // As slow as a wrong password, so that timing tells nothing about the account.
                try store.spendPasswordCheckTime(password: password)
                return .failure(refusal ?? .invalidPassword)
            }
            let correct = try store.verifyPassword(accountID: account.id, password: password)
            try store.settlePasswordAttempt(accountID: account.id, correct: correct, now: time, threshold: threshold,
                                            lockSeconds: Int64(configuration.lockoutSeconds))
            guard correct else { return .failure(.invalidPassword) }
            return try store.writeTransaction {
                // The hash took a while: an admin's change that committed meanwhile wins.
                if let changed = try Self.refusalAfterChange(to: account, store: store) { return .failure(changed) }
                return .success(try Self.startSession(store: store, account: account, path: [], source: source,
                                                      now: time, configuration: configuration))
            }
        }
        activity.record(LoginRecord(time: time, action: "authenticate", account: username,
                                    outcome: result.outcome, reason: result.reason, brokerPath: [], source: source))
        return try result.get()
    }

    func getAccount(username: String, via: [String]) async throws -> JellyValue {
        let principals = self.principals
        guard let account = try await write({ store in
            try principals.verify(via, store: store)
            return try store.account(named: username)
        }) else {
            throw AuthenticationFailure.noSuchAccount
        }
        return .stringKeyedDictionary([
            ("username", .string(account.name)),
            ("disabled", .bool(account.disabled)),
            ("created", .int(Int(account.created))),
            ("last_login", account.lastLogin.map { .int(Int($0)) } ?? .none),
        ])
    }

    func accountStatus(username: String, via: [String]) async throws -> JellyValue {
        let time = now()
        let idleLimit = configuration.idleLimit
        let activity = self.activity
        let principals = self.principals
        let answer: (Account, Int)? = try await write { store in
            try principals.verify(via, store: store)
            guard let account = try store.account(named: username) else { return nil }
            let live = try Self.liveSessions(store: store, accountID: account.id, now: time, idleLimit: idleLimit, activity: activity)
            return (account, live.count)
        }
        guard let (account, liveSessions) = answer else { throw AuthenticationFailure.noSuchAccount }
        return .stringKeyedDictionary([
            ("username", .string(account.name)),
            ("disabled", .bool(account.disabled)),
            ("locked", .bool(account.isLocked(now: time))),
            ("live_sessions", .int(liveSessions)),
        ])
    }

    func revokeSession(username: String, session: String, via: [String]) async throws {
        let time = now()
        let principals = self.principals
        let revoked: Bool? = try await write { store in
            try principals.verify(via, store: store)
            guard let account = try store.account(named: username) else { return nil }
            guard let record = try store.session(id: session), record.accountID == account.id else { return false }
            return try store.revokeSession(id: session)
        }
        guard let revoked else { throw AuthenticationFailure.noSuchAccount }
        activity.record(LoginRecord(time: time, action: "revoke_session", account: username,
                                    outcome: revoked ? "success" : "failure", reason: revoked ? "revoked" : "no such live session",
                                    brokerPath: via, source: ""))
    }

    func checkBrokerPath(_ path: [String]) async throws {
        if let verdict = principals.cachedVerdict(path) { return try verdict.get() }
        let principals = self.principals
        try await read { store in try principals.verify(path, store: store) }
    }

    func brokerLoggedIn(_ principal: String, on connection: PBConnectionInfo) -> (@Sendable () -> Void)? {
        principals.loggedIn(principal, on: connection)
    }

    /// Reads again what the principals with open connections are (see `BrokerPrincipals`), and
    /// answers those that may no longer call, with their connections.
    func refreshBrokerPrincipals() async throws -> [(principal: String, standing: BrokerPrincipals.Standing, connections: [PBConnectionInfo])] {
        let names = principals.connectedPrincipals
        guard !names.isEmpty else { return [] }
        let principals = self.principals
        return try await read { store in try principals.refresh(names, store: store) }
    }

    // MARK: The rules, run on a worker thread

    /// The check of protocol.md section 4, reading only. When several reasons apply, the
    /// first of this order wins: NoSuchAccount, AccountDisabled, a matching live cookie,
    /// LockedOut, a matching password verifier (or broker token),
    /// AuthenticationCookieMismatch, InvalidPassword. The outcomes that change the
    /// database are answered as a `CheckWrite` for `apply`.
    ///
    /// `remember`, when given, receives an enabled user's name and live sessions with their
    /// verifiers (for `CookieCheckCache`).
    static func checkChallenge(store: AccountStore, username: String, challenge: [UInt8], response: [UInt8], now: Int64,
                               configuration: MasterConfiguration, activity: ActivityRecorder,
                               remember: ((String, [CookieCheckCache.Session]) -> Void)? = nil) throws -> CheckStep {
        guard let (account, candidates) = try store.accountWithLiveSessions(named: username, now: now) else {
            return .decided(.failure(.noSuchAccount))
        }
        if account.disabled { return .decided(.failure(.accountDisabled)) }
        if let remember, account.kind == .user, !candidates.isEmpty, candidates.count <= CookieCheckCache.maximumSessions {
            remember(account.name, candidates.map {
                CookieCheckCache.Session(id: $0.id, expires: $0.expires, lastSeen: $0.lastSeen,
                                         verifier: store.md5CookieVerifier(forSessionID: $0.id))
            })
        }

        // Only users have sessions; uses not yet written count against the idle limit.
        let sessions = account.kind == .user ? candidates.filter {
            isWithinIdleLimit(session: $0.id, lastSeen: $0.lastSeen, now: now, idleLimit: configuration.idleLimit, activity: activity)
        } : []
        for session in sessions {
            let verifier = store.md5CookieVerifier(forSessionID: session.id)
            if PBLoginChallenge.responseMatches(response, hashedSecret: verifier, challenge: challenge) {
                activity.sessionUsed(session.id, at: now)
                let expires = effectiveExpiry(session.expires, now: now, configuration: configuration)
                return .decided(.success(AuthenticationStatus(username: account.name, kind: .user, master: false,
                                                              session: session.id, expires: expires), reason: "cookie"))
            }
        }

        let noMatch: AuthenticationFailure = sessions.isEmpty ? .invalidPassword : .authenticationCookieMismatch
        switch account.kind {
        case .broker:
            // A token has 256 random bits: a wrong one is refused and audited, never counted,
            // and a broker principal is never locked out (anyone could switch it off).
            if let verifier = try store.brokerTokenVerifier(accountID: account.id),
               PBLoginChallenge.responseMatches(response, hashedSecret: verifier, challenge: challenge) {
                let status = AuthenticationStatus(username: account.name, kind: .broker, master: false, session: "", expires: 0)
                return .decided(.success(status, reason: "broker token"))
            }
            return .decided(.failure(.invalidPassword))
        case .user:
            if account.isLocked(now: now) { return .decided(.failure(.lockedOut)) }
            // Only a PB password verifier can be guessed; a wrong cookie is never counted. The
            // verifier is checked in a write, after the guess took its place in the count.
            if configuration.pbPasswordLogin, try store.pbPasswordVerifier(accountID: account.id) != nil {
                return .write(.checkVerifier(account, challenge: challenge, response: response, noMatch: noMatch))
            }
            return .decided(.failure(noMatch))
        }
    }

    /// Makes the change a check decided on, and answers the check's result.
    static func apply(_ write: CheckWrite, store: AccountStore, path: [String], source: String, now: Int64,
                      configuration: MasterConfiguration) throws -> CheckResult {
        switch write {
        case .checkVerifier(let account, let challenge, let response, let noMatch):
            // One transaction: what the account is when the session starts is what was checked.
            return try store.writeTransaction {
                if let changed = try refusalAfterChange(to: account, store: store) { return .failure(changed) }
                let threshold = configuration.lockoutThreshold
                guard try store.reservePasswordAttempt(accountID: account.id, now: now, threshold: threshold) else {
                    return .failure(.lockedOut)
                }
                let matched = try store.pbPasswordVerifier(accountID: account.id).map {
                    PBLoginChallenge.responseMatches(response, hashedSecret: $0, challenge: challenge)
                } ?? false
                try store.settlePasswordAttempt(accountID: account.id, correct: matched, now: now, threshold: threshold,
                                                lockSeconds: Int64(configuration.lockoutSeconds))
                guard matched else { return .failure(noMatch) }
                return .success(try startSession(store: store, account: account, path: path, source: source,
                                                 now: now, configuration: configuration), reason: "password")
            }
        }
    }

    /// Why no session may start for `account` as a check read it earlier, now that an admin
    /// may have changed it (protocol.md section 4.6): removed, disabled, or its credentials
    /// changed (a new password, all its sessions revoked). Nil when nothing changed. Call it
    /// inside the write transaction that starts the session.
    static func refusalAfterChange(to account: Account, store: AccountStore) throws -> AuthenticationFailure? {
        guard let current = try store.account(id: account.id) else { return .noSuchAccount }
        if current.disabled { return .accountDisabled }
        if current.credentialsVersion != account.credentialsVersion { return .invalidPassword }
        return nil
    }

    /// Whether a session the database last saw at `lastSeen` was used within the idle limit,
    /// counting uses not yet written to the database.
    static func isWithinIdleLimit(session: String, lastSeen: Int64, now: Int64, idleLimit: Int64?, activity: ActivityRecorder) -> Bool {
        guard let idleLimit else { return true }
        return now - max(lastSeen, activity.pendingLastSeen(session) ?? 0) < idleLimit
    }

    /// The account's live sessions, counting uses not yet written to the database against the idle limit.
    static func liveSessions(store: AccountStore, accountID: Int64, now: Int64, idleLimit: Int64?, activity: ActivityRecorder) throws -> [SessionRecord] {
        try store.liveSessions(accountID: accountID, now: now, idleLimit: nil).filter {
            isWithinIdleLimit(session: $0.id, lastSeen: $0.lastSeen, now: now, idleLimit: idleLimit, activity: activity)
        }
    }

    /// When a session that expires at `expires` ends if it is not used again: the idle limit may come first.
    static func effectiveExpiry(_ expires: Int64, now: Int64, configuration: MasterConfiguration) -> Int64 {
        configuration.idleLimit.map { min(expires, now + $0) } ?? expires
    }

    /// Starts a session after a correct password; resets the failure count and notes the login.
    static func startSession(store: AccountStore, account: Account, path: [String], source: String,
                             now: Int64, configuration: MasterConfiguration) throws -> AuthenticationStatus {
        let started = try store.startSession(accountID: account.id, lifetime: Int64(configuration.sessionLifetime),
                                             brokerPath: path, source: source, now: now)
        try store.resetFailedAttempts(accountID: account.id)
        try store.recordLogin(accountID: account.id, now: now)
        return AuthenticationStatus(username: account.name, kind: .user, master: true, session: started.id,
                                    expires: effectiveExpiry(started.expires, now: now, configuration: configuration),
                                    cookie: started.cookie)
    }
}

/// How far a check got while reading: decided, or decided on a change to the database.
enum CheckStep: Sendable {
    case decided(CheckResult)
    case write(CheckWrite)
}

/// The change a check decided on.
enum CheckWrite: Sendable {
    /// No cookie matched and the user has a PB password verifier: take a place in the count
    /// (refused when locked), check the verifier, settle the count; a match starts a session,
    /// else the check fails with `noMatch`.
    case checkVerifier(Account, challenge: [UInt8], response: [UInt8], noMatch: AuthenticationFailure)
}

/// The outcome of one check, with the precise reason for the audit log.
enum CheckResult: Sendable {
    case success(AuthenticationStatus, reason: String)
    case failure(AuthenticationFailure)

    static func success(_ status: AuthenticationStatus) -> CheckResult { .success(status, reason: "password") }

    var outcome: String {
        if case .success = self { return "success" }
        return "failure"
    }

    var reason: String {
        switch self {
        case .success(_, let reason): reason
        case .failure(let failure): failure.typeName
        }
    }

    func get() throws -> AuthenticationStatus {
        switch self {
        case .success(let status, _): return status
        case .failure(let failure): throw failure
        }
    }
}

extension MasterConfiguration {
    /// The idle limit in seconds, or `nil` when it is off.
    var idleLimit: Int64? { sessionIdleLimit > 0 ? Int64(sessionIdleLimit) : nil }
}
