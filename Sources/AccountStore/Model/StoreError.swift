import AccountNames
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the store refused or failed, each with a one-line message a person can act on.
/// Messages never contain a secret.
public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// There is no database file at the path.
    case noDatabase(String)
    /// The SQLite library this process loaded is older than the store needs.
    case sqliteTooOld(found: String, needed: String)
    /// The database file cannot be created.
    case cannotCreateDatabase(String, errno: Int32)
    /// The file is not a pbauth database.
    case notAPBAuthDatabase(String)
    /// Migrations of this build are not applied yet.
    case pendingMigrations(path: String, names: [String])
    /// Another process holds the database's lock.
    case databaseLocked(String)
    /// No account has this name.
    case noSuchAccount(String)
    /// An account with this name exists already.
    case duplicateAccount(String)
    /// The name breaks `AccountName`'s rules.
    case invalidAccountName(String)
    /// An empty password was given.
    case emptyPassword
    /// The password is longer than the store accepts.
    case passwordTooLong(maximum: Int)
    /// A password operation on a broker principal (or a token operation on a user).
    case wrongKind(name: String, expected: AccountKind)
    /// A broker path element or source is not acceptable.
    case invalidSessionOrigin(String)
    /// The server key file is missing although the database has secrets derived from a key.
    case serverKeyMissing(String)
    /// The server key file does not belong to this database.
    case serverKeyMismatch(String)
    /// The server key file is not 32 bytes.
    case serverKeyMalformed(String)
    /// The server key file can be read by group or others.
    case serverKeyExposed(String, mode: Int)
    /// The server key file cannot be read.
    case serverKeyUnreadable(String, errno: Int32)
    /// The server key file cannot be created.
    case serverKeyUnwritable(String, errno: Int32)
    /// The scrypt parameters of the configuration are out of bounds.
    case invalidScryptParameters(ScryptParameters)
    /// A backup's target file exists already (a backup never overwrites).
    case backupTargetExists(String)
    /// A backup's target file cannot be created or written.
    case cannotCreateBackup(String, errno: Int32)
    /// A backup's copy failed its integrity check.
    case backupCorrupt(String, detail: String)
    /// Something that should not happen did.
    case internalFailure(String)

    public var description: String {
        switch self {
        case .noDatabase(let path):
            return "no database at \(path); create it with `pbauth migrate --database \(path)`"
        case .cannotCreateDatabase(let path, let code):
            return "cannot create the database \(path): \(String(cString: strerror(code)))"
        case .sqliteTooOld(let found, let needed):
            return "the SQLite library is version \(found), and pbauth needs \(needed) or newer (for RETURNING): install a newer libsqlite3"
        case .notAPBAuthDatabase(let path):
            return "\(path) is not a pbauth database"
        case .pendingMigrations(let path, let names):
            return "the database \(path) needs migrations (\(names.joined(separator: ", "))); run `pbauth migrate --database \(path)`"
        case .databaseLocked(let path):
            return "the database \(path) is locked by another process; try again when it has finished"
        case .noSuchAccount(let name):
            return "no account named \(quotedForMessage(name))"
        case .duplicateAccount(let name):
            return "an account named \(quotedForMessage(name)) already exists"
        case .invalidAccountName(let name):
            return "invalid account name \(quotedForMessage(name)): use \(AccountName.rule)"
        case .emptyPassword:
            return "the password is empty; give a non-empty password"
        case .passwordTooLong(let maximum):
            return "the password is longer than \(maximum) bytes"
        case .wrongKind(let name, let expected):
            return "account \(quotedForMessage(name)) is not a \(expected == .user ? "user" : "broker principal")"
        case .invalidSessionOrigin(let detail):
            return "invalid session origin: \(detail)"
        case .serverKeyMissing(let path):
            return "the server key file \(path) is missing; restore it from the backup made with the database (without it no cookie or token of this database can be checked)"
        case .serverKeyMismatch(let path):
            return "the server key file \(path) does not belong to this database; use the key file created with it (--key-file)"
        case .serverKeyMalformed(let path):
            return "the server key file \(path) is not 32 bytes long; restore the original key file"
        case .serverKeyExposed(let path, let mode):
            return "the server key file \(path) is readable by others (mode \(String(mode, radix: 8))); run `chmod 600 \(path)`"
        case .serverKeyUnreadable(let path, let code):
            return "cannot read the server key file \(path): \(String(cString: strerror(code)))"
        case .serverKeyUnwritable(let path, let code):
            return "cannot create the server key file \(path): \(String(cString: strerror(code)))"
        case .invalidScryptParameters(let parameters):
            return "scrypt parameters \(parameters) are out of bounds (ln 1...22, r 1...32, p 1...16)"
        case .backupTargetExists(let path):
            return "\(path) exists already; a backup never overwrites: choose a new path (or move the old file away)"
        case .cannotCreateBackup(let path, let code):
            return "cannot write the backup \(path): \(String(cString: strerror(code)))"
        case .backupCorrupt(let path, let detail):
            return "the backup \(path) failed its integrity check (\(detail)); it was removed: try again, and check the disk"
        case .internalFailure(let detail):
            return "internal failure: \(detail)"
        }
    }
}
