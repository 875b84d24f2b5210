import CSQLite

/// A prepared statement. It owns its `sqlite3_stmt`, which is finalized
/// deterministically: by `Database.close()` (the connection's cache holds every
/// statement it prepared) or when the statement is released, whichever is first.
final class Statement {
    private var handle: OpaquePointer?
    /// The SQL text (never with bound values).
    let sql: String
    private let connection: OpaquePointer

    init(connection: OpaquePointer, sql: String) throws {
        self.connection = connection
        self.sql = sql
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw DatabaseError(code: code, connection: connection, sql: sql)
        }
        handle = statement
    }

    deinit { finalize() }

    /// Releases SQLite's statement; later use throws.
    func finalize() {
        if let handle { sqlite3_finalize(handle) }
        handle = nil
    }

    private func live() throws -> OpaquePointer {
        guard let handle else {
            throw DatabaseError(code: SQLITE_MISUSE, message: "statement used after the connection was closed", sql: sql)
        }
        return handle
    }

    /// Resets the statement and binds `values` to its parameters ?1, ?2, ...
    func bind(_ values: [SQLValue]) throws {
        let handle = try live()
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .integer(let number):
                code = sqlite3_bind_int64(handle, index, number)
            case .text(let text):
                code = sqlite3_bind_text(handle, index, text, -1, pbauth_sqlite_transient)
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { raw in
                    // A zero-length blob still needs a non-NULL pointer to be a blob, not NULL.
                    sqlite3_bind_blob(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), pbauth_sqlite_transient)
                }
            case .null:
                code = sqlite3_bind_null(handle, index)
            }
            guard code == SQLITE_OK else { throw DatabaseError(code: code, connection: connection, sql: sql) }
        }
    }

    /// Advances to the next row: true when a row is available, false when done.
    func step() throws -> Bool {
        let handle = try live()
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = DatabaseError(code: sqlite3_extended_errcode(connection), connection: connection, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Resets the statement after use so that it holds no read lock and no bound value.
    func reset() {
        guard let handle else { return }
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Reading the current row (columns are 0-based)

    func int64(_ column: Int32) -> Int64 {
        handle.map { sqlite3_column_int64($0, column) } ?? 0
    }

    func optionalInt64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : int64(column)
    }

    func bool(_ column: Int32) -> Bool { int64(column) != 0 }

    func text(_ column: Int32) -> String {
        guard let handle, let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? {
        isNull(column) ? nil : text(column)
    }

    func blob(_ column: Int32) -> [UInt8]? {
        guard let handle, !isNull(column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func isNull(_ column: Int32) -> Bool {
        guard let handle else { return true }
        return sqlite3_column_type(handle, column) == SQLITE_NULL
    }
}
