import CSQLite

/// What `pbauth migrate --status` reports about one migration.
public struct MigrationStatus: Sendable, Equatable {
    /// The state of one migration.
    public enum State: Sendable, Equatable {
        /// Applied at this time (Unix seconds).
        case applied(at: Int64)
        /// Known to this build, not applied yet.
        case pending
        /// Recorded in the database, unknown to this build.
        case unknown
    }
    /// The migration file's name.
    public let name: String
    /// Its state.
    public let state: State
}

/// Applies migrations to a database, in order, each in its own transaction,
/// and records each with its checksum and time in `schema_migrations`.
///
/// Every refusal leaves the database as it was. The write lock (`BEGIN
/// IMMEDIATE`) is taken before the applied migrations are read, so two runs
/// at once never apply a file twice: the second waits for the first.
struct MigrationRunner {
    /// pbauth's `PRAGMA application_id` ("pbau"), which marks a file as ours.
    static let applicationID: Int64 = 0x7062_6175

    let database: Database
    let migrations: [Migration]
    let now: () -> Int64

    /// Applies what is pending; answers the names applied by this run.
    func migrate() throws -> [String] {
        var appliedNow: [String] = []
        try database.writeTransaction {
            try prepareBookkeeping()
            _ = try verifyApplied()
        }
        for migration in migrations {
            let applied = try database.writeTransaction { () throws -> Bool in
                // Re-read under the write lock: another run may have applied it meanwhile.
                let alreadyApplied = try verifyApplied()
                if alreadyApplied[migration.name] != nil { return false }
                do {
                    try database.execute(migration.contents)
                } catch let error as DatabaseError {
                    throw MigrationError.failed(name: migration.name, sqliteMessage: error.message)
                }
                guard database.isInsideTransaction else {
                    // The file ran its own COMMIT or ROLLBACK: what it did before that
                    // cannot be undone here, so say so rather than record it as applied.
                    throw MigrationError.endsItsOwnTransaction(migration.name)
                }
                try database.run(
                    "INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?1, ?2, ?3)",
                    .text(migration.name), .text(migration.checksum), .integer(now()))
                return true
            }
            if applied { appliedNow.append(migration.name) }
        }
        return appliedNow
    }

    /// The state of every known and every recorded migration, without changing anything.
    func status() throws -> [MigrationStatus] {
        try checkIdentity()
        let applied = try readApplied()
        var result = migrations.map { migration in
            MigrationStatus(name: migration.name, state: applied[migration.name].map { .applied(at: $0.appliedAt) } ?? .pending)
        }
        let known = Set(migrations.map(\.name))
        result += applied.keys.filter { !known.contains($0) }.sorted().map { MigrationStatus(name: $0, state: .unknown) }
        return result
    }

    /// The names of known migrations not applied yet (after checking the applied ones).
    func pending() throws -> [String] {
        try checkIdentity()
        let applied = try verify(try readApplied())
        return migrations.map(\.name).filter { applied[$0] == nil }
    }

    // MARK: Inside the write lock

    private func prepareBookkeeping() throws {
        try checkIdentity()
        try database.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name TEXT PRIMARY KEY NOT NULL,
                checksum TEXT NOT NULL,
                applied_at INTEGER NOT NULL
            )
            """)
        try database.execute("PRAGMA application_id = \(Self.applicationID)")
    }

    /// Reads what is applied and refuses a changed file or a migration this build lacks.
    private func verifyApplied() throws -> [String: (checksum: String, appliedAt: Int64)] {
        try verify(try readApplied())
    }

    private func verify(_ applied: [String: (checksum: String, appliedAt: Int64)]) throws -> [String: (checksum: String, appliedAt: Int64)] {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.name, $0) })
        let unknown = applied.keys.filter { known[$0] == nil }.sorted()
        if !unknown.isEmpty { throw MigrationError.databaseNewer(unknown: unknown) }
        for migration in migrations {
            if let record = applied[migration.name], record.checksum != migration.checksum {
                throw MigrationError.changedFile(migration.name)
            }
        }
        return applied
    }

    private func readApplied() throws -> [String: (checksum: String, appliedAt: Int64)] {
        guard try hasTable("schema_migrations") else { return [:] }
        let rows = try database.query("SELECT name, checksum, applied_at FROM schema_migrations") { row in
            (row.text(0), row.text(1), row.int64(2))
        }
        var applied: [String: (checksum: String, appliedAt: Int64)] = [:]
        for (name, checksum, appliedAt) in rows { applied[name] = (checksum, appliedAt) }
        return applied
    }

    /// Refuses a database of another program: ours carries our application id;
    /// a new, empty database carries none and has no tables.
    func checkIdentity() throws {
        let identity: Int64
        do {
            identity = try database.queryFirst("PRAGMA application_id") { $0.int64(0) } ?? 0
        } catch let error as DatabaseError where error.isNotADatabase {
            throw MigrationError.notAPBAuthDatabase(database.path)
        }
        if identity == Self.applicationID { return }
        let tableCount = try database.queryFirst("SELECT count(*) FROM sqlite_schema") { $0.int64(0) } ?? 0
        if identity != 0 || tableCount != 0 { throw MigrationError.notAPBAuthDatabase(database.path) }
    }

    private func hasTable(_ name: String) throws -> Bool {
        try database.queryFirst("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", .text(name)) { _ in true } ?? false
    }
}
