/// The append-only audit log (the schema refuses UPDATE and DELETE on it).
extension AccountStore {
    /// Appends an entry.
    public func appendAudit(_ entry: AuditEntry) throws {
        try database.writeTransaction { try Self.appendAudit(entry, to: database) }
    }

    /// Appends entries in one transaction (one disk sync for the lot): how the
    /// master writes the login records it coalesces.
    public func appendAudit(_ entries: [AuditEntry]) throws {
        guard !entries.isEmpty else { return }
        try database.writeTransaction {
            // Many rows per INSERT: the statement's own work (and the AUTOINCREMENT counter's
            // read and write) is done once per chunk instead of once per row.
            var rest = entries[...]
            for (size, sql) in Self.auditInserts {
                while rest.count >= size {
                    try database.run(sql, values: rest.prefix(size).flatMap(Self.auditValues))
                    rest = rest.dropFirst(size)
                }
            }
        }
    }

    /// Multi-row INSERTs, largest first, down to one row: every count is served by these few
    /// cached statements (64 rows bind 512 parameters, far below SQLite's limit).
    private static let auditInserts: [(rows: Int, sql: String)] = [64, 8, 1].map { rows in
        let values = (0..<rows).map { row in "(" + (1...8).map { "?\(row * 8 + $0)" }.joined(separator: ", ") + ")" }
        return (rows, "INSERT INTO audit_log (time, actor, action, account, outcome, reason, broker_path, source) VALUES "
                      + values.joined(separator: ", "))
    }

    private static func auditValues(_ entry: AuditEntry) -> [SQLValue] {
        [.integer(entry.time), .text(entry.actor), .text(entry.action), .text(entry.account), .text(entry.outcome),
         .text(entry.reason), .text(entry.brokerPath.joined(separator: "\u{1F}")), .text(entry.source)]
    }

    /// Writes coalesced session uses and login records in one transaction (one disk sync):
    /// what the master's periodic flush writes.
    public func recordActivity(lastSeen: [(sessionID: String, at: Int64)], audit entries: [AuditEntry]) throws {
        try database.writeTransaction {
            try touchSessions(lastSeen)
            try appendAudit(entries)
        }
    }

    static func appendAudit(_ entry: AuditEntry, to database: Database) throws {
        try database.run(
            "INSERT INTO audit_log (time, actor, action, account, outcome, reason, broker_path, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            .integer(entry.time), .text(entry.actor), .text(entry.action), .text(entry.account), .text(entry.outcome),
            .text(entry.reason), .text(entry.brokerPath.joined(separator: "\u{1F}")), .text(entry.source))
    }

    /// The entries in the order they were written; with `limit`, only the latest `limit`.
    public func auditEntries(limit: Int? = nil) throws -> [AuditEntry] {
        let entries = try database.query(
            "SELECT time, actor, action, account, outcome, reason, broker_path, source FROM audit_log ORDER BY id DESC LIMIT ?1",
            .integer(Int64(limit ?? -1))) { row in
            let path = row.text(6)
            return AuditEntry(
                time: row.int64(0), actor: row.text(1), action: row.text(2), account: row.optionalText(3),
                outcome: row.text(4), reason: row.optionalText(5),
                brokerPath: path.isEmpty ? [] : path.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init),
                source: row.text(7))
        }
        return entries.reversed()
    }
}
