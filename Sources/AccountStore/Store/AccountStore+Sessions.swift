import AccountNames

/// Sessions and their cookies.
extension AccountStore {
    /// The most broker principals a session's path may hold.
    public static let maximumBrokerPathLength = AccountName.maximumBrokerPathLength
    /// The longest source address accepted, in bytes.
    public static let maximumSourceLength = 256

    private static let separator: Character = "\u{1F}"
    private static let sessionColumns = "id, account_id, created, expires, last_seen, revoked, broker_path, source"

    private static func session(from row: Statement) -> SessionRecord {
        let path = row.text(6)
        return SessionRecord(
            id: row.text(0), accountID: row.int64(1), created: row.int64(2), expires: row.int64(3),
            lastSeen: row.int64(4), revoked: row.bool(5),
            brokerPath: path.isEmpty ? [] : path.split(separator: separator, omittingEmptySubsequences: false).map(String.init),
            source: row.text(7))
    }

    /// Starts a session for the account: a random id, its cookie derived with the server key.
    /// - Parameters:
    ///   - lifetime: seconds until the cookie stops being accepted.
    ///   - brokerPath: the broker principals the login passed through, nearest the user first (valid account names).
    ///   - source: the address the login came from (at most 256 bytes, no control characters).
    /// - Throws: `StoreError.invalidSessionOrigin`, `.noSuchAccount` (reported as `#id`).
    public func startSession(accountID: Int64, lifetime: Int64, brokerPath: [String], source: String, now: Int64) throws -> StartedSession {
        guard brokerPath.count <= Self.maximumBrokerPathLength else {
            throw StoreError.invalidSessionOrigin("a broker path longer than \(Self.maximumBrokerPathLength)")
        }
        for name in brokerPath where !AccountName.isValid(name) {
            throw StoreError.invalidSessionOrigin("broker name \(quotedForMessage(name))")
        }
        guard source.utf8.count <= Self.maximumSourceLength,
              !source.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw StoreError.invalidSessionOrigin("source \(quotedForMessage(source))")
        }
        let id = hexString(randomBytes(16))
        let expires = now + max(0, lifetime)
        do {
            try database.writeTransaction {
                try database.run(
                    "INSERT INTO sessions (id, account_id, created, expires, last_seen, broker_path, source) VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?6)",
                    .text(id), .integer(accountID), .integer(now), .integer(expires),
                    .text(brokerPath.joined(separator: String(Self.separator))), .text(source))
            }
        } catch let error as DatabaseError where error.isForeignKeyConstraint /* the account is gone */ {
            throw StoreError.noSuchAccount("#\(accountID)")
        }
        return StartedSession(id: id, cookie: secrets.cookie(sessionID: id), created: now, expires: expires)
    }

    /// The live sessions of an account (not revoked, not expired, and when
    /// `idleLimit` is given, seen within that many seconds), in one indexed read.
    public func liveSessions(accountID: Int64, now: Int64, idleLimit: Int64?) throws -> [SessionRecord] {
        let seenAfter = idleLimit.map { now - $0 } ?? Int64.min
        return try database.query(
            "SELECT \(Self.sessionColumns) FROM sessions WHERE account_id = ?1 AND revoked = 0 AND expires > ?2 AND last_seen > ?3",
            .integer(accountID), .integer(now), .integer(seenAfter), row: Self.session)
    }

    /// The account named `name` with its live sessions (not revoked, not expired),
    /// in one indexed read: the cookie check's question, asked on every login.
    /// Only what that check needs of each session is read. Nil when there is no such account.
    public func accountWithLiveSessions(named name: String, now: Int64) throws -> (account: Account, sessions: [LiveSession])? {
        var isFirstRow = true
        let rows = try database.query(
            """
            SELECT a.id, a.name, a.kind, a.disabled, a.created, a.last_login, a.failed_attempts, a.locked_until,
                   a.credentials_version, s.id, s.expires, s.last_seen
            FROM accounts a LEFT JOIN sessions s ON s.account_id = a.id AND s.revoked = 0 AND s.expires > ?2
            WHERE a.name = ?1
            """,
            .text(name), .integer(now)
        ) { row in
            // The account's columns repeat on every row: read them from the first only.
            defer { isFirstRow = false }
            return (account: isFirstRow ? Self.account(from: row) : nil,
                    session: row.isNull(9) ? nil : LiveSession(id: row.text(9), expires: row.int64(10), lastSeen: row.int64(11)))
        }
        guard let account = rows.first?.account else { return nil }
        return (account, rows.compactMap(\.session))
    }

    /// Every live session of every account with the account's name, oldest first (for `pbauth session list`).
    public func allLiveSessions(now: Int64) throws -> [(account: String, session: SessionRecord)] {
        try database.query(
            """
            SELECT s.id, s.account_id, s.created, s.expires, s.last_seen, s.revoked, s.broker_path, s.source, a.name
            FROM sessions s JOIN accounts a ON a.id = s.account_id
            WHERE s.revoked = 0 AND s.expires > ?1 ORDER BY s.created, s.id
            """,
            .integer(now), row: { (account: $0.text(8), session: Self.session(from: $0)) })
    }

    /// The session with this id, revoked or not; nil when there is none.
    public func session(id: String) throws -> SessionRecord? {
        try database.queryFirst("SELECT \(Self.sessionColumns) FROM sessions WHERE id = ?1", .text(id), row: Self.session)
    }

    /// The session's cookie, derived from its id with the server key. A secret.
    public func cookie(forSessionID id: String) -> String {
        secrets.cookie(sessionID: id)
    }

    /// `md5(cookie)`: what PB's challenge-response of a cookie login is checked against.
    public func md5CookieVerifier(forSessionID id: String) -> [UInt8] {
        if let cached = cookieVerifierCache[id] { return cached }
        let verifier = SecretDerivation.md5(Array(secrets.cookie(sessionID: id).utf8))
        if cookieVerifierCache.count >= Self.cookieVerifierCacheLimit { cookieVerifierCache.removeAll(keepingCapacity: true) }
        cookieVerifierCache[id] = verifier
        return verifier
    }

    /// Revokes one session; answers false when it did not exist or was already revoked.
    @discardableResult
    public func revokeSession(id: String) throws -> Bool {
        try database.writeTransaction {
            try database.run("UPDATE sessions SET revoked = 1 WHERE id = ?1 AND revoked = 0", .text(id))
        } > 0
    }

    /// Revokes every session of an account; answers how many were live (not yet revoked).
    /// A password check in flight for the account then starts no session (its
    /// `credentialsVersion` moves on).
    @discardableResult
    public func revokeAllSessions(accountID: Int64) throws -> Int {
        try database.writeTransaction {
            try database.run("UPDATE accounts SET credentials_version = credentials_version + 1 WHERE id = ?1", .integer(accountID))
            return try database.run("UPDATE sessions SET revoked = 1 WHERE account_id = ?1 AND revoked = 0", .integer(accountID))
        }
    }

    /// Records when sessions were last used, all in one transaction (for updates
    /// a daemon coalesced). A time earlier than the stored one is ignored.
    public func touchSessions(_ lastSeen: [(sessionID: String, at: Int64)]) throws {
        guard !lastSeen.isEmpty else { return }
        try database.writeTransaction {
            for (id, at) in lastSeen {
                try database.run("UPDATE sessions SET last_seen = max(last_seen, ?2) WHERE id = ?1", .text(id), .integer(at))
            }
        }
    }
}
