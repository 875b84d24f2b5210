import CSQLite
import Foundation

/// A failure reported by SQLite: its result code, its message and the SQL that
/// failed. Bound values are never part of it, so that a secret bound to a
/// statement cannot leak into a log line or an error message.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    /// SQLite's extended result code (for example 5, `SQLITE_BUSY`).
    public let code: Int32
    /// SQLite's own message for the failure.
    public let message: String
    /// The statement that failed, without its bound values.
    public let sql: String?

    /// The primary result code (the low byte of the extended code).
    public var primaryCode: Int32 { code & 0xFF }

    /// Whether another connection holds the lock this one needed (`SQLITE_BUSY` or `SQLITE_LOCKED`).
    public var isLocked: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    /// Whether the file is not an SQLite database at all (`SQLITE_NOTADB`).
    public var isNotADatabase: Bool { primaryCode == SQLITE_NOTADB }

    /// Whether a FOREIGN KEY constraint refused the write (SQLITE_CONSTRAINT_FOREIGNKEY).
    public var isForeignKeyConstraint: Bool { code == SQLITE_CONSTRAINT | (3 << 8) }

    /// Whether a UNIQUE or PRIMARY KEY constraint refused the write.
    public var isUniqueConstraint: Bool {
        // SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY are composite
        // macros that Swift does not import: SQLITE_CONSTRAINT | (8 << 8) and | (6 << 8).
        code == SQLITE_CONSTRAINT | (8 << 8) || code == SQLITE_CONSTRAINT | (6 << 8)
    }

    public var description: String {
        let where_ = sql.map { " in `\(Self.oneLine($0))`" } ?? ""
        return "SQLite error \(code) (\(message))\(where_)"
    }

    init(code: Int32, message: String, sql: String?) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The error SQLite recorded on `connection` for result `code`.
    init(code: Int32, connection: OpaquePointer?, sql: String?) {
        let text = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        self.init(code: code, message: text, sql: sql)
    }

    /// Keeps a multi-line statement on one line of an error message, shortened.
    private static func oneLine(_ sql: String) -> String {
        let flat = sql.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return flat.count > 120 ? String(flat.prefix(117)) + "..." : flat
    }
}
