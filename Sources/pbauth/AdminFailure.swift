import AccountNames
import AccountStore
import ArgumentParser
import Foundation

/// A refusal of the admin command with a message a person can act on.
struct AdminFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Running an admin action: open the store, act, write an audit entry, and on
/// failure print one line `pbauth: <message>` on standard error and exit 1.
enum AdminAction {
    /// Who runs the command, as the audit log records it: `admin:<OS user>`.
    static var actor: String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
            return "admin:" + String(cString: name)
        }
        return "admin:uid\(geteuid())"
    }

    /// Opens the store and runs `body`; records `action` on `account` in the audit log.
    /// `body` answers a note for the audit entry (never a secret).
    static func run(
        _ options: DatabaseOptions, action: String, account: String?, _ body: (AccountStore) throws -> String?
    ) throws {
        // An invalid name is not written to the log as it is (it may hold control
        // characters); the refusal's message quotes it safely.
        let account = account.flatMap { AccountName.isValid($0) ? $0 : nil }
        try reportingFailures(databasePath: options.databasePath) {
            let store = try options.openStore()
            defer { store.close() }
            do {
                let note = try body(store)
                try store.appendAudit(AuditEntry(
                    time: now(), actor: actor, action: action, account: account, outcome: "success", reason: note))
            } catch {
                // The refusal itself is worth recording; failing to record it must not hide it.
                try? store.appendAudit(AuditEntry(
                    time: now(), actor: actor, action: action, account: account,
                    outcome: error is StoreError || error is AdminFailure ? "refused" : "failure", reason: message(for: error, databasePath: options.databasePath)))
                throw error
            }
        }
    }

    /// Runs `body`; any error becomes one line on standard error and exit code 1.
    static func reportingFailures(databasePath: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("pbauth: \(message(for: error, databasePath: databasePath))\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The one-line message for `error` (all pbauth errors hold no secret).
    static func message(for error: Error, databasePath: String) -> String {
        if let error = error as? DatabaseError {
            if error.isLocked { return StoreError.databaseLocked(databasePath).description }
            if error.isNotADatabase { return StoreError.notAPBAuthDatabase(databasePath).description }
            return "database \(databasePath): \(error)"
        }
        let text = "\(error)"
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
