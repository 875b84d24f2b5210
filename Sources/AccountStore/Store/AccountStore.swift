import CSQLite
import Foundation

/// The master's state in one SQLite file: accounts, password hashes, broker
/// principals, sessions, settings and the audit log.
///
/// Not thread-safe: it owns one connection and must be used by one thread at a
/// time (a daemon wraps it in its own thread pool). Secrets are never stored in
/// the clear; cookies, tokens and PB verifiers need the server key file.
public final class AccountStore {
    let database: Database
    let secrets: SecretDerivation
    /// The configuration the store was opened with.
    public let configuration: StoreConfiguration
    /// `md5(cookie)` by session id: deriving it (HMAC, base64url, MD5) cost more than
    /// the rest of a cookie check. Bounded; the store is confined to one thread.
    var cookieVerifierCache: [String: [UInt8]] = [:]
    static let cookieVerifierCacheLimit = 65_536
    /// Inside a batch of reads that share one read transaction (`AccountStorePool.read`): the
    /// database's change stamp taken before that transaction began, so that what the batch
    /// reads may be trusted while `DatabaseChangeWatch.stamp()` answers the same. Nil elsewhere.
    public internal(set) var snapshotStamp: DatabaseChangeWatch.Stamp?

    private init(database: Database, secrets: SecretDerivation, configuration: StoreConfiguration) {
        self.database = database
        self.secrets = secrets
        self.configuration = configuration
    }

    /// Opens an existing, fully migrated pbauth database and its server key.
    ///
    /// - Parameters:
    ///   - keyPath: the server key file; default: `databasePath + ".key"`. It is
    ///     created (mode 0600) on first use of the database.
    /// - Throws: `StoreError.noDatabase`, `.notAPBAuthDatabase`, `.pendingMigrations`
    ///   (names `pbauth migrate`), a `MigrationError.databaseNewer` for a database
    ///   newer than this build, a server key error, or a `DatabaseError`.
    public static func open(
        databasePath: String, keyPath: String? = nil, configuration: StoreConfiguration = .init()
    ) throws -> AccountStore {
        guard configuration.scrypt.isValid else { throw StoreError.invalidScryptParameters(configuration.scrypt) }
        guard FileManager.default.fileExists(atPath: databasePath) else { throw StoreError.noDatabase(databasePath) }
        let database = try whileOpening(databasePath) {
            try openPBAuthDatabase(path: databasePath, create: false, configuration: configuration)
        }
        do {
            let runner = MigrationRunner(database: database, migrations: try MigrationSource.embedded.load(), now: currentTime)
            let pending = try runner.pending()
            guard pending.isEmpty else {
                // A file with no table at all is an empty SQLite file, never migrated.
                throw StoreError.pendingMigrations(path: databasePath, names: pending)
            }
            let key = try loadServerKey(database: database, keyPath: keyPath ?? databasePath + ".key")
            return AccountStore(database: database, secrets: SecretDerivation(serverKey: key), configuration: configuration)
        } catch {
            database.close()
            throw error
        }
    }

    /// Creates the database if it is missing, applies the embedded migrations
    /// that are pending, and opens it: what the master does at its first start.
    public static func createOrMigrate(
        databasePath: String, keyPath: String? = nil, configuration: StoreConfiguration = .init()
    ) throws -> AccountStore {
        _ = try migrate(databasePath: databasePath, source: .embedded, configuration: configuration, actor: nil)
        return try open(databasePath: databasePath, keyPath: keyPath, configuration: configuration)
    }

    /// Creates the database if needed and applies the pending migrations of
    /// `source`, each in its own transaction. Answers the names applied now.
    ///
    /// - Parameter actor: when given, and the database has an audit log, the run
    ///   is recorded there.
    /// - Throws: a `MigrationError` for each refusal of `pbauth migrate`, or a `DatabaseError`.
    public static func migrate(
        databasePath: String, source: MigrationSource, configuration: StoreConfiguration = .init(), actor: String?
    ) throws -> [String] {
        let migrations = try source.load()
        try createPrivateFileIfMissing(databasePath)
        // The whole run holds the opening lock: a process that opens the database meanwhile
        // waits, instead of finding a half-made one (or a new file becoming a WAL database).
        let (database, applied) = try whileOpening(databasePath) { () throws -> (Database, [String]) in
            let database = try openPBAuthDatabase(path: databasePath, create: true, configuration: configuration)
            do {
                return (database, try MigrationRunner(database: database, migrations: migrations, now: currentTime).migrate())
            } catch {
                database.close()
                throw error
            }
        }
        defer { database.close() }
        if let actor, try database.queryFirst("SELECT 1 FROM sqlite_schema WHERE name = 'audit_log'", row: { _ in true }) == true {
            try appendAudit(AuditEntry(
                time: currentTime(), actor: actor, action: "migrate", outcome: "success",
                reason: applied.isEmpty ? "nothing pending" : "applied " + applied.joined(separator: ", ")),
                to: database)
        }
        return applied
    }

    /// The applied, pending and unknown migrations of the database, changing nothing.
    /// A missing database reports every migration as pending.
    public static func migrationStatus(
        databasePath: String, source: MigrationSource, configuration: StoreConfiguration = .init()
    ) throws -> [MigrationStatus] {
        let migrations = try source.load()
        guard FileManager.default.fileExists(atPath: databasePath) else {
            return migrations.map { MigrationStatus(name: $0.name, state: .pending) }
        }
        let database = try openDatabase(path: databasePath, create: false, configuration: configuration)
        defer { database.close() }
        return try MigrationRunner(database: database, migrations: migrations, now: currentTime).status()
    }

    /// Closes the connection and finalizes its statements. The store is unusable afterwards.
    public func close() {
        database.close()
    }

    /// Runs `body`, which must only read, against one snapshot of the database in one
    /// read transaction: several reads in a row cost less this way (measured with
    /// `pbauth-bench store`: one live-session lookup took 4.5 us alone and 2.8 us in a
    /// batch of 32). A write inside fails with SQLITE_MISUSE.
    public func readSnapshot<Result>(_ body: () throws -> Result) throws -> Result {
        try database.readTransaction(body)
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`: the write lock is taken before
    /// anything is read), committed when it returns and rolled back when it throws. The
    /// store's own writes inside join it: what `body` reads is still so when it writes.
    public func writeTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        try database.writeTransaction(body)
    }

    // MARK: Opening

    /// Creates an empty database file readable by its owner only (it holds
    /// password hashes); SQLite gives its -wal and -shm files the same mode.
    /// An existing file is left alone; losing a creation race to another process is fine.
    private static func createPrivateFileIfMissing(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let descriptor = SystemCalls.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            SystemCalls.close(descriptor)
        } else if errno != EEXIST {
            throw StoreError.cannotCreateDatabase(path, errno: errno)
        }
    }

    static func currentTime() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// Runs `body` holding an exclusive `flock` on the database's folder, which every pbauth
    /// process takes while it opens (checks, turns on WAL) or migrates a database there.
    /// Without it, a second process could read a brand-new file while the first turned it
    /// into a WAL database and call it foreign (`SQLITE_NOTADB`).
    ///
    /// The folder, not the file: closing any descriptor of the database file would drop the
    /// POSIX record locks that SQLite's other connections in this process hold on it.
    private static func whileOpening<Result>(_ path: String, _ body: () throws -> Result) throws -> Result {
        let folder = (path as NSString).deletingLastPathComponent
        let descriptor = SystemCalls.open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC | O_DIRECTORY)
        guard descriptor >= 0 else { return try body() }  // SQLite will say what is wrong with the path
        defer { SystemCalls.close(descriptor) }
        SystemCalls.lockExclusively(descriptor)
        defer { SystemCalls.unlock(descriptor) }
        return try body()
    }

    /// The oldest SQLite the store works with: 3.35 brought `RETURNING`.
    static let minimumSQLiteVersion = (number: Int32(3_035_000), text: "3.35.0")

    /// Refuses an SQLite library older than `minimumSQLiteVersion`, before anything is opened.
    static func checkSQLiteVersion(_ number: Int32 = sqlite3_libversion_number(),
                                   text: @autoclosure () -> String = String(cString: sqlite3_libversion())) throws {
        guard number >= minimumSQLiteVersion.number else {
            throw StoreError.sqliteTooOld(found: text(), needed: minimumSQLiteVersion.text)
        }
    }

    private static func openDatabase(path: String, create: Bool, configuration: StoreConfiguration) throws -> Database {
        try checkSQLiteVersion()
        do {
            return try Database(path: path, create: create, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds)
        } catch let error as DatabaseError where error.isNotADatabase {
            throw StoreError.notAPBAuthDatabase(path)
        }
    }

    /// Opens `path`, refuses a file that is not pbauth's (or new and empty), then turns on WAL.
    private static func openPBAuthDatabase(path: String, create: Bool, configuration: StoreConfiguration) throws -> Database {
        let database = try openDatabase(path: path, create: create, configuration: configuration)
        do {
            try MigrationRunner(database: database, migrations: [], now: currentTime).checkIdentity()
            try database.enableWriteAheadLog()
            if let pages = configuration.walAutocheckpointPages {
                try database.execute("PRAGMA wal_autocheckpoint = \(max(0, pages))")
            }
            return database
        } catch MigrationError.notAPBAuthDatabase {
            database.close()
            throw StoreError.notAPBAuthDatabase(path)
        } catch {
            database.close()
            throw error
        }
    }

    /// Loads the server key and checks it against the fingerprint recorded in
    /// the database, recording it on first use. A database whose key was lost or
    /// swapped is refused instead of silently invalidating every cookie and token.
    private static func loadServerKey(database: Database, keyPath: String) throws -> ServerKey {
        let recorded = try setting(named: fingerprintSetting, in: database)
        let key = try ServerKey.load(path: keyPath, create: recorded == nil)
        let fingerprint = SecretDerivation(serverKey: key).fingerprint
        if let recorded {
            guard recorded == fingerprint else { throw StoreError.serverKeyMismatch(keyPath) }
            return key
        }
        let winner = try database.writeTransaction { () throws -> String? in
            try database.run("INSERT OR IGNORE INTO settings (name, value) VALUES (?1, ?2)", .text(fingerprintSetting), .text(fingerprint))
            return try setting(named: fingerprintSetting, in: database)
        }
        guard winner == fingerprint else { throw StoreError.serverKeyMismatch(keyPath) }
        return key
    }

    static let fingerprintSetting = "server_key_fingerprint"

    static func setting(named name: String, in database: Database) throws -> String? {
        try database.queryFirst("SELECT value FROM settings WHERE name = ?1", .text(name)) { $0.text(0) }
    }
}
