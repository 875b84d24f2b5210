import AccountNames

/// Accounts: users and broker principals.
extension AccountStore {
    /// The longest password accepted, in bytes.
    public static let maximumPasswordLength = 1024

    private static let accountColumns = "id, name, kind, disabled, created, last_login, failed_attempts, locked_until, credentials_version"

    static func account(from row: Statement) -> Account {
        Account(
            id: row.int64(0), name: row.text(1), kind: AccountKind(rawValue: row.text(2)) ?? .user,
            disabled: row.bool(3), created: row.int64(4), lastLogin: row.optionalInt64(5),
            failedAttempts: Int(row.int64(6)), lockedUntil: row.optionalInt64(7), credentialsVersion: row.int64(8))
    }

    /// The account named `name`, or nil. Throws only for a database failure.
    public func account(named name: String) throws -> Account? {
        try database.queryFirst("SELECT \(Self.accountColumns) FROM accounts WHERE name = ?1", .text(name), row: Self.account)
    }

    /// The account with row id `id`, or nil. Throws only for a database failure.
    public func account(id: Int64) throws -> Account? {
        try database.queryFirst("SELECT \(Self.accountColumns) FROM accounts WHERE id = ?1", .integer(id), row: Self.account)
    }

    /// Every account, sorted by name.
    public func listAccounts() throws -> [Account] {
        try database.query("SELECT \(Self.accountColumns) FROM accounts ORDER BY name", row: Self.account)
    }

    /// Adds a user with a password (hashed with scrypt; a PB verifier is kept too
    /// while PB password logins are on).
    /// - Throws: `StoreError.invalidAccountName`, `.emptyPassword`, `.passwordTooLong`, `.duplicateAccount`.
    public func addUser(name: String, password: [UInt8], now: Int64? = nil) throws {
        let name = try AccountName(name).value
        try Self.checkPassword(password)
        let hash = try PasswordHash.make(password: password, parameters: configuration.scrypt)
        try database.writeTransaction {
            do {
                try database.run(
                    "INSERT INTO accounts (name, kind, password_hash, created) VALUES (?1, 'user', ?2, ?3)",
                    .text(name), .text(hash.phcString), .integer(now ?? Self.currentTime()))
            } catch let error as DatabaseError where error.isUniqueConstraint {
                throw StoreError.duplicateAccount(name)
            }
            try storePBVerifierIfEnabled(accountID: database.lastInsertRowID, password: password)
        }
    }

    /// Adds a broker principal and answers its token (256 bits, base64url). The
    /// token is not stored: it is derived from a random salt with the server key,
    /// so this is the only time it is shown.
    /// - Throws: `StoreError.invalidAccountName`, `.duplicateAccount`.
    public func addBroker(name: String, now: Int64? = nil) throws -> String {
        let name = try AccountName(name).value
        let salt = randomBytes(16)
        do {
            try database.writeTransaction {
                try database.run(
                    "INSERT INTO accounts (name, kind, token_salt, created) VALUES (?1, 'broker', ?2, ?3)",
                    .text(name), .blob(salt), .integer(now ?? Self.currentTime()))
            }
        } catch let error as DatabaseError where error.isUniqueConstraint {
            throw StoreError.duplicateAccount(name)
        }
        return secrets.brokerToken(name: name, salt: salt)
    }

    /// Disables or enables an account; disabling revokes all its sessions.
    /// - Throws: `StoreError.noSuchAccount`.
    public func setDisabled(_ disabled: Bool, name: String) throws {
        try database.writeTransaction {
            guard let account = try account(named: name) else { throw StoreError.noSuchAccount(name) }
            try database.run("UPDATE accounts SET disabled = ?2, credentials_version = credentials_version + 1 WHERE id = ?1",
                             .integer(account.id), .bool(disabled))
            if disabled { _ = try revokeAllSessions(accountID: account.id) }
        }
    }

    /// Removes an account and its sessions. The audit log keeps its name.
    /// - Throws: `StoreError.noSuchAccount`.
    public func removeAccount(name: String) throws {
        let removed = try database.writeTransaction {
            try database.run("DELETE FROM accounts WHERE name = ?1", .text(name))
        }
        guard removed > 0 else { throw StoreError.noSuchAccount(name) }
    }

    /// Sets a user's password, revokes all its sessions and clears its lockout.
    /// - Throws: `StoreError.noSuchAccount`, `.wrongKind` for a broker principal,
    ///   `.emptyPassword`, `.passwordTooLong`.
    public func setPassword(name: String, password: [UInt8]) throws {
        guard let found = try account(named: name) else { throw StoreError.noSuchAccount(name) }
        guard found.kind == .user else { throw StoreError.wrongKind(name: name, expected: .user) }
        try Self.checkPassword(password)
        let hash = try PasswordHash.make(password: password, parameters: configuration.scrypt)
        try database.writeTransaction {
            let changed = try database.run(
                "UPDATE accounts SET password_hash = ?2, sealed_pb_verifier = NULL, failed_attempts = 0, locked_until = NULL WHERE id = ?1 AND kind = 'user'",
                .integer(found.id), .text(hash.phcString))
            guard changed == 1 else { throw StoreError.noSuchAccount(name) }
            try storePBVerifierIfEnabled(accountID: found.id, password: password)
            _ = try revokeAllSessions(accountID: found.id)
        }
    }

    static func checkPassword(_ password: [UInt8]) throws {
        guard !password.isEmpty else { throw StoreError.emptyPassword }
        guard password.count <= maximumPasswordLength else { throw StoreError.passwordTooLong(maximum: maximumPasswordLength) }
    }
}
