/// Why `pbauth migrate` refused to run. In every case the database is left as
/// it was (apart from migrations that were applied completely before a failure).
public enum MigrationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// An applied migration's file has changed since it was applied.
    case changedFile(String)
    /// A migration failed part-way and was rolled back as a whole.
    case failed(name: String, sqliteMessage: String)
    /// A migration ended the transaction it runs in (COMMIT, ROLLBACK or END).
    case endsItsOwnTransaction(String)
    /// The database records migrations this build does not have.
    case databaseNewer(unknown: [String])
    /// A file in the migrations folder does not match `NNNN_what_it_does.sql`.
    case misnamedFile(String)
    /// Two files share a number.
    case duplicateNumber(String, String)
    /// The migrations folder could not be listed.
    case unreadableFolder(String)
    /// A migration file could not be read.
    case unreadableFile(String)
    /// The file is an SQLite database of some other program, or not a database at all.
    case notAPBAuthDatabase(String)

    public var description: String {
        switch self {
        case .changedFile(let name):
            return "migration \(name) was changed after it was applied; restore the original file and add a new migration instead"
        case .failed(let name, let message):
            return "migration \(name) failed and was rolled back (earlier migrations stay applied): \(message)"
        case .endsItsOwnTransaction(let name):
            return "migration \(name) ends its own transaction (COMMIT, ROLLBACK or END) and was not recorded; check the database, then remove those statements: each file already runs in a transaction of its own"
        case .databaseNewer(let unknown):
            return "the database is newer than this pbauth: it has migrations this build does not know (\(unknown.joined(separator: ", "))); use a newer pbauth"
        case .misnamedFile(let name):
            return "migration file '\(name)' does not match NNNN_what_it_does.sql (four digits, '_', lowercase letters, digits or '_'); rename or remove it"
        case .duplicateNumber(let first, let second):
            return "migration files \(first) and \(second) share a number; renumber one of them"
        case .unreadableFolder(let path):
            return "cannot list the migrations folder \(path)"
        case .unreadableFile(let path):
            return "cannot read the migration file \(path)"
        case .notAPBAuthDatabase(let path):
            return "\(path) is not a pbauth database"
        }
    }
}
