import CSQLite
import Foundation

/// Running the database in production: readiness, retention, pruning the audit log, backups.
extension AccountStore {
    // MARK: Health and levels

    /// Proves the database open and writable without changing it: takes the write lock
    /// (`BEGIN IMMEDIATE`), writes a row, and rolls back. Throws the database's error
    /// (locked for longer than the busy timeout, read-only, gone).
    public func checkWritable() throws {
        try database.run("BEGIN IMMEDIATE")
        defer { _ = try? database.run("ROLLBACK") }
        try database.run("INSERT OR REPLACE INTO settings (name, value) VALUES ('readiness_probe', '1')")
    }

    /// How many accounts are locked out at `now`.
    public func lockedAccountCount(now: Int64) throws -> Int {
        Int(try database.queryFirst("SELECT count(*) FROM accounts WHERE locked_until > ?1", .integer(now)) { $0.int64(0) } ?? 0)
    }

    // MARK: Retention

    /// Deletes at most `limit` sessions that ended before `cutoff` (Unix seconds): expired,
    /// revoked (by the time of revocation), or, with `idleLimit`, unused for that long.
    /// Answers how many were deleted; call it again until it answers less than `limit`.
    /// One short transaction per call, so that the master's own writes wait little.
    public func deleteEndedSessions(endedBefore cutoff: Int64, idleLimit: Int64?, limit: Int) throws -> Int {
        let limit = Int64(max(1, limit))
        return try database.writeTransaction {
            var deleted = try database.run(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires < ?1 LIMIT ?2)",
                .integer(cutoff), .integer(limit))
            if deleted < limit {
                deleted += try database.run(
                    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE revoked = 1 AND revoked_at < ?1 LIMIT ?2)",
                    .integer(cutoff), .integer(limit - Int64(deleted)))
            }
            if deleted < limit, let idleLimit {
                deleted += try database.run(
                    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE last_seen < ?1 LIMIT ?2)",
                    .integer(cutoff &- idleLimit), .integer(limit - Int64(deleted)))
            }
            return deleted
        }
    }

    // MARK: Pruning the audit log

    static let auditPruneSetting = "audit_prune_before"

    /// Deletes the audit entries written before `cutoff` (Unix seconds), at most `batch` per
    /// transaction; answers how many. The schema refuses every other delete: each batch
    /// writes the cutoff where the schema's trigger reads it and removes it again before
    /// committing. The caller records the prune itself (after it, so that it is kept).
    public func pruneAudit(before cutoff: Int64, batch: Int = 5_000) throws -> Int {
        var total = 0
        while true {
            let deleted = try database.writeTransaction { () throws -> Int in
                try database.run("INSERT OR REPLACE INTO settings (name, value) VALUES (?1, ?2)",
                                 .text(Self.auditPruneSetting), .text(String(cutoff)))
                let deleted = try database.run(
                    "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time < ?1 ORDER BY id LIMIT ?2)",
                    .integer(cutoff), .integer(Int64(max(1, batch))))
                try database.run("DELETE FROM settings WHERE name = ?1", .text(Self.auditPruneSetting))
                return deleted
            }
            total += deleted
            if deleted < batch { return total }
        }
    }

    // MARK: Backups

    /// What a backup copied.
    public struct BackupSummary: Sendable, Equatable {
        /// Accounts (users and broker principals).
        public var accounts: Int
        /// Sessions, live or not yet deleted by retention.
        public var sessions: Int
        /// Audit entries.
        public var auditEntries: Int
        /// The copy's size in bytes.
        public var bytes: Int64
    }

    /// Writes a consistent copy of the database to `path` while other connections (a running
    /// master) go on reading and writing: `VACUUM INTO` reads one snapshot. The file is
    /// created with mode 0600 before SQLite writes into it, and must not exist. The copy is
    /// then checked with `PRAGMA integrity_check`.
    ///
    /// - Throws: `StoreError.backupTargetExists`, `.cannotCreateBackup`, `.backupCorrupt`, or a `DatabaseError`.
    public func backup(to path: String) throws -> BackupSummary {
        let descriptor = SystemCalls.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw errno == EEXIST ? StoreError.backupTargetExists(path) : StoreError.cannotCreateBackup(path, errno: errno)
        }
        SystemCalls.close(descriptor)
        do {
            try database.run("VACUUM INTO ?1", .text(path))
            return try Self.checkBackup(at: path, configuration: configuration)
        } catch {
            unlink(path)
            unlink(path + "-journal")
            throw error
        }
    }

    /// Checks the copy at `path` (`integrity_check`) and counts what it holds.
    static func checkBackup(at path: String, configuration: StoreConfiguration) throws -> BackupSummary {
        let copy = try Database(path: path, create: false, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds)
        defer { copy.close() }
        let verdict = try copy.query("PRAGMA integrity_check") { $0.text(0) }
        guard verdict == ["ok"] else { throw StoreError.backupCorrupt(path, detail: verdict.prefix(3).joined(separator: "; ")) }
        func count(_ table: String) throws -> Int {
            Int(try copy.queryFirst("SELECT count(*) FROM \(table)") { $0.int64(0) } ?? 0)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)??.int64Value ?? 0
        return BackupSummary(accounts: try count("accounts"), sessions: try count("sessions"),
                             auditEntries: try count("audit_log"), bytes: size)
    }

    /// Copies the server key at `keyPath` to `path` (created with mode 0600; must not exist),
    /// after checking that it is this database's key.
    ///
    /// - Throws: `StoreError.backupTargetExists`, `.cannotCreateBackup`, `.serverKeyMismatch`, or a server key error.
    public func copyServerKey(from keyPath: String, to path: String) throws {
        let key = try ServerKey.load(path: keyPath, create: false)
        guard try Self.setting(named: Self.fingerprintSetting, in: database) == SecretDerivation(serverKey: key).fingerprint else {
            throw StoreError.serverKeyMismatch(keyPath)
        }
        let descriptor = SystemCalls.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw errno == EEXIST ? StoreError.backupTargetExists(path) : StoreError.cannotCreateBackup(path, errno: errno)
        }
        let (written, synced) = key.key.withUnsafeBytes { bytes in
            (SystemCalls.write(descriptor, bytes.baseAddress, bytes.count), fsync(descriptor))
        }
        SystemCalls.close(descriptor)
        guard written == ServerKey.byteCount, synced == 0 else {
            unlink(path)
            throw StoreError.cannotCreateBackup(path, errno: errno)
        }
    }
}
