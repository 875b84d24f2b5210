/// Password checks and the secrets PB's challenge-response is checked against.
extension AccountStore {
    /// Checks `password` against the user's scrypt hash (constant-time). On
    /// success, a hash made with other parameters than the configured ones is
    /// replaced, and a missing PB verifier is stored while PB password logins are on.
    /// Answers false for a wrong password, an unknown id, or a broker principal, always
    /// after one scrypt's time, so that no refusal is quicker than another.
    /// Runs scrypt: call it off any event loop.
    public func verifyPassword(accountID: Int64, password: [UInt8]) throws -> Bool {
        guard (1...Self.maximumPasswordLength).contains(password.count),
              let (stored, lacksPBVerifier) = try database.queryFirst(
                "SELECT password_hash, sealed_pb_verifier IS NULL FROM accounts WHERE id = ?1 AND kind = 'user'",
                .integer(accountID), row: { ($0.optionalText(0), $0.bool(1)) }),
              let phc = stored, let hash = PasswordHash(phcString: phc)
        else {
            try spendPasswordCheckTime(password: password)
            return false
        }
        guard try hash.matches(password: password) else { return false }
        let fresh = hash.parameters != configuration.scrypt
            ? try PasswordHash.make(password: password, parameters: configuration.scrypt) : nil
        let needsPBVerifier = lacksPBVerifier ? try pbPasswordLoginEnabled() : false
        guard fresh != nil || needsPBVerifier else { return true }
        try database.writeTransaction {
            // Only if nobody changed the password meanwhile: otherwise the new hash and the
            // verifier would belong to the old password.
            guard try database.queryFirst("SELECT 1 FROM accounts WHERE id = ?1 AND password_hash = ?2",
                                          .integer(accountID), .text(phc), row: { $0.int64(0) }) != nil else { return }
            if let fresh {
                try database.run("UPDATE accounts SET password_hash = ?2 WHERE id = ?1", .integer(accountID), .text(fresh.phcString))
            }
            if needsPBVerifier { try storePBVerifierIfEnabled(accountID: accountID, password: password) }
        }
        return true
    }

    /// Spends the time of one password check without checking anything, so that
    /// a refusal for an unknown, disabled or locked account takes as long as a
    /// wrong password and does not tell which account names exist.
    public func spendPasswordCheckTime(password: [UInt8]) throws {
        _ = try PasswordHash.make(password: Array(password.prefix(Self.maximumPasswordLength)), parameters: configuration.scrypt)
    }

    /// The PB password verifier `md5(password)` of a user, or nil when PB password
    /// logins are off, none is kept, or it does not open with this server key.
    public func pbPasswordVerifier(accountID: Int64) throws -> [UInt8]? {
        guard try pbPasswordLoginEnabled(),
              let sealed = try database.queryFirst(
                "SELECT sealed_pb_verifier FROM accounts WHERE id = ?1 AND kind = 'user'", .integer(accountID), row: { $0.blob(0) }),
              let sealed
        else { return nil }
        return secrets.open(sealed: sealed, accountID: accountID)
    }

    /// `md5(token)` of a broker principal, what its PB login is checked against; nil for a user or an unknown id.
    public func brokerTokenVerifier(accountID: Int64) throws -> [UInt8]? {
        guard let (name, salt) = try database.queryFirst(
            "SELECT name, token_salt FROM accounts WHERE id = ?1 AND kind = 'broker'", .integer(accountID),
            row: { ($0.text(0), $0.blob(1)) }),
              let salt
        else { return nil }
        return SecretDerivation.md5(Array(secrets.brokerToken(name: name, salt: salt).utf8))
    }

    /// Whether PB password logins are on (the recorded setting; off by default).
    public func pbPasswordLoginEnabled() throws -> Bool {
        try Self.setting(named: Self.pbPasswordLoginSetting, in: database) == "on"
    }

    /// Records whether PB password logins are on. Turning them off deletes every
    /// stored PB verifier; turning them on keeps new verifiers for passwords set
    /// or checked from then on.
    public func setPBPasswordLogin(enabled: Bool) throws {
        try database.writeTransaction {
            try database.run(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                .text(Self.pbPasswordLoginSetting), .text(enabled ? "on" : "off"))
            if !enabled {
                try database.run("UPDATE accounts SET sealed_pb_verifier = NULL WHERE sealed_pb_verifier IS NOT NULL")
            }
        }
    }

    static let pbPasswordLoginSetting = "pb_password_login"

    /// Stores the sealed `md5(password)` when PB password logins are on. Call inside a write transaction.
    func storePBVerifierIfEnabled(accountID: Int64, password: [UInt8]) throws {
        guard try pbPasswordLoginEnabled() else { return }
        let sealed = try secrets.seal(verifier: SecretDerivation.md5(password), accountID: accountID)
        try database.run("UPDATE accounts SET sealed_pb_verifier = ?2 WHERE id = ?1", .integer(accountID), .blob(sealed))
    }

    // MARK: Lockout and last login

    /// Takes a place for one guess of user `accountID`'s password *before* the guess is
    /// checked, so that however many guesses run at once, at most `threshold` are checked per
    /// lock window. Answers false (check nothing: the account is locked out) when the account
    /// is locked or `threshold` guesses already hold a place. A lock whose time has passed
    /// ends here: counting starts again with this guess.
    public func reservePasswordAttempt(accountID: Int64, now: Int64, threshold: Int) throws -> Bool {
        try database.writeTransaction {
            try database.queryFirst(
                """
                UPDATE accounts SET
                    failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= ?2 THEN 1 ELSE failed_attempts + 1 END,
                    locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= ?2 THEN NULL ELSE locked_until END
                WHERE id = ?1 AND kind = 'user'
                    AND ((locked_until IS NOT NULL AND locked_until <= ?2) OR (locked_until IS NULL AND failed_attempts < ?3))
                RETURNING failed_attempts
                """,
                .integer(accountID), .integer(now), .integer(Int64(threshold)),
                row: { $0.int64(0) }) != nil
        }
    }

    /// Settles a guess that `reservePasswordAttempt` let through: a right one clears the count
    /// and any lock; a wrong one stays counted, and once `threshold` are counted, password
    /// attempts are locked until `now + lockSeconds`. Answers whether the account is now locked.
    @discardableResult
    public func settlePasswordAttempt(accountID: Int64, correct: Bool, now: Int64, threshold: Int, lockSeconds: Int64) throws -> Bool {
        try database.writeTransaction {
            if correct {
                try database.run("UPDATE accounts SET failed_attempts = 0, locked_until = NULL WHERE id = ?1", .integer(accountID))
                return false
            }
            let until = try database.queryFirst(
                """
                UPDATE accounts SET locked_until = CASE WHEN failed_attempts >= ?2 AND locked_until IS NULL THEN ?3 + ?4 ELSE locked_until END
                WHERE id = ?1 RETURNING locked_until
                """,
                .integer(accountID), .integer(Int64(threshold)), .integer(now), .integer(lockSeconds),
                row: { $0.optionalInt64(0) })
            return (until ?? nil).map { $0 > now } ?? false
        }
    }

    /// Clears the count of wrong secrets and any lock.
    public func resetFailedAttempts(accountID: Int64) throws {
        try database.writeTransaction {
            try database.run("UPDATE accounts SET failed_attempts = 0, locked_until = NULL WHERE id = ?1", .integer(accountID))
        }
    }

    /// Records a successful login's time as the account's last login.
    public func recordLogin(accountID: Int64, now: Int64) throws {
        try database.writeTransaction {
            try database.run("UPDATE accounts SET last_login = ?2 WHERE id = ?1", .integer(accountID), .integer(now))
        }
    }
}
