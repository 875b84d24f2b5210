import CSQLite

/// One connection to an SQLite file, set up the way pbauth needs it.
///
/// Not thread-safe: one connection is used by one thread at a time. Prepared
/// statements are cached by their SQL text and reused; `close()` finalizes them all.
final class Database {
    /// Process-wide SQLite settings, applied once before the first connection opens.
    /// Fails harmlessly (SQLITE_MISUSE) if something else initialized the library first.
    private static let libraryConfigured: Bool = pbauth_sqlite_disable_memory_statistics() == SQLITE_OK

    /// The file's path as given.
    let path: String
    private var connection: OpaquePointer?
    private var statementCache: [String: Statement] = [:]
    /// The transaction this type opened, if any.
    private var openTransaction = OpenTransaction.none

    private enum OpenTransaction {
        case none, read, write
    }

    /// Opens (and with `create`, creates) the database at `path`.
    ///
    /// - Parameter busyTimeoutMilliseconds: how long a statement waits for a lock
    ///   held by another connection before failing with `SQLITE_BUSY`.
    init(path: String, create: Bool, busyTimeoutMilliseconds: Int32) throws {
        _ = Self.libraryConfigured
        self.path = path
        var handle: OpaquePointer?
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        if create { flags |= SQLITE_OPEN_CREATE }
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let error = DatabaseError(code: code, connection: handle, sql: nil)
            sqlite3_close(handle)
            throw error
        }
        connection = handle
        do {
            // The busy timeout comes first: every later statement (switching to WAL too) may wait for a lock.
            sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
            try execute("PRAGMA foreign_keys = ON")
            // synchronous=FULL: in WAL mode, NORMAL already survives a crash of the
            // process, but a commit can be lost on power failure or an OS crash
            // because the WAL is not synced at each commit. A session or an account
            // change that pbauth has answered (a cookie handed out, a revocation
            // confirmed, a password changed) must not silently come back or vanish,
            // so every commit is synced. Writes are rare next to reads, which
            // this setting does not slow down.
            try execute("PRAGMA synchronous = FULL")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Switches the file to write-ahead logging (readers never wait for the
    /// writer). Kept apart from `init` because it changes the file: it is called
    /// only once the file is known to be a pbauth database (or a new, empty one).
    func enableWriteAheadLog() throws {
        let mode = try queryFirst("PRAGMA journal_mode = WAL") { $0.text(0) }
        guard mode?.lowercased() == "wal" else {
            throw DatabaseError(code: SQLITE_ERROR, message: "cannot switch to WAL (journal mode is \(mode ?? "unknown"))", sql: "PRAGMA journal_mode = WAL")
        }
    }

    /// Finalizes every cached statement and closes the connection. Idempotent.
    func close() {
        for statement in statementCache.values { statement.finalize() }
        statementCache.removeAll()
        if let connection { sqlite3_close(connection) }
        connection = nil
    }

    private func live() throws -> OpaquePointer {
        guard let connection else {
            throw DatabaseError(code: SQLITE_MISUSE, message: "the database connection is closed", sql: nil)
        }
        return connection
    }

    /// Runs one or more SQL statements that take no parameters (a migration file, a PRAGMA).
    func execute(_ sql: String) throws {
        let connection = try live()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(connection, sql, nil, nil, &errorMessage)
        guard code == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(errorMessage)
            throw DatabaseError(code: sqlite3_extended_errcode(connection), message: message, sql: sql)
        }
    }

    /// The cached prepared statement for `sql`, prepared on first use.
    func statement(_ sql: String) throws -> Statement {
        if let cached = statementCache[sql] { return cached }
        let statement = try Statement(connection: try live(), sql: sql)
        statementCache[sql] = statement
        return statement
    }

    /// Runs a statement that returns no rows; answers the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: SQLValue...) throws -> Int {
        try run(sql, values: values)
    }

    /// Runs a statement that returns no rows with `values` bound to ?1, ?2, ...; answers the
    /// number of rows it changed.
    @discardableResult
    func run(_ sql: String, values: [SQLValue]) throws -> Int {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(values)
        while try statement.step() {}
        return Int(sqlite3_changes(try live()))
    }

    /// Runs a query and maps each row with `row`.
    func query<Row>(_ sql: String, _ values: SQLValue..., row: (Statement) throws -> Row) throws -> [Row] {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(values)
        var rows: [Row] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    /// Runs a query and maps its first row, if any, with `row`.
    func queryFirst<Row>(_ sql: String, _ values: SQLValue..., row: (Statement) throws -> Row) throws -> Row? {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(values)
        guard try statement.step() else { return nil }
        return try row(statement)
    }

    /// Whether SQLite has a transaction open on this connection (false once a
    /// statement such as COMMIT ended it behind `writeTransaction`'s back).
    var isInsideTransaction: Bool {
        connection.map { sqlite3_get_autocommit($0) == 0 } ?? false
    }

    /// The rowid of the last row inserted on this connection.
    var lastInsertRowID: Int64 {
        connection.map { sqlite3_last_insert_rowid($0) } ?? 0
    }

    /// Runs `body` in a write transaction that starts with `BEGIN IMMEDIATE`
    /// (so the write lock is taken before anything is read) and commits, or
    /// rolls back as a unit when `body` throws.
    ///
    /// Nested calls join the outer transaction.
    /// Refused inside `readTransaction` (a read snapshot cannot safely become a write).
    @discardableResult
    func writeTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        switch openTransaction {
        case .write: return try body()
        case .read: throw DatabaseError(code: SQLITE_MISUSE, message: "a write was attempted inside a read snapshot", sql: nil)
        case .none: break
        }
        return try transaction(beginning: "BEGIN IMMEDIATE", as: .write, body)
    }

    /// Runs `body`, which only reads, in one read transaction (`BEGIN` … `COMMIT`):
    /// its reads see one snapshot, and the locks of the write-ahead log are taken
    /// once for all of them instead of once per statement. Nested calls join the
    /// outer transaction; a `writeTransaction` inside is refused.
    func readTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        guard openTransaction == .none else { return try body() }
        return try transaction(beginning: "BEGIN", as: .read, body)
    }

    /// Runs `body` between `begin` and COMMIT, or rolls back when it throws.
    /// BEGIN, COMMIT and ROLLBACK go through the statement cache: a read snapshot around
    /// every batch of cookie checks should not parse them again each time.
    private func transaction<Result>(beginning begin: String, as kind: OpenTransaction, _ body: () throws -> Result) throws -> Result {
        try run(begin)
        openTransaction = kind
        defer { openTransaction = .none }
        do {
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            // The rollback's own failure (for example when SQLite already rolled
            // back) must not hide the error that caused it.
            _ = try? run("ROLLBACK")
            throw error
        }
    }
}
