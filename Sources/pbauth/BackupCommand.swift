import AccountStore
import ArgumentParser
import Foundation

/// `pbauth backup --to PATH [--with-key]`: a consistent copy of the database, made while a
/// master runs and serves.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database consistently while the master runs (checked, mode 0600).",
        discussion: """
            The copy is one snapshot of the database (SQLite's VACUUM INTO), written to a new \
            file with mode 0600 and checked with integrity_check. It never overwrites a file. \
            The server key is not in the database: without it no cookie or token of the copy \
            can be checked. --with-key copies it too, to PATH.key (mode 0600), which is where \
            a master started with --database PATH looks for it. To restore: stop the master, \
            copy PATH back to the database's path (and PATH.key to its key file), start it.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The new file to write the copy to.", valueName: "path"))
    var to: String

    @Flag(name: .customLong("with-key"), help: "Also copy the server key file, to PATH.key.")
    var withKey = false

    @OptionGroup var options: DatabaseOptions

    func run() throws {
        let keyPath = options.keyFile ?? options.databasePath + ".key"
        let keyCopy = to + ".key"
        try AdminAction.run(options, action: "backup", account: nil) { store in
            let summary = try store.backup(to: to)
            if withKey {
                do {
                    try store.copyServerKey(from: keyPath, to: keyCopy)
                } catch {
                    unlink(to)
                    throw error
                }
            }
            print("copied \(options.databasePath) to \(to): \(summary.accounts) accounts, \(summary.sessions) sessions, "
                  + "\(summary.auditEntries) audit entries, \(summary.bytes) bytes; integrity check ok")
            if withKey {
                print("copied the server key \(keyPath) to \(keyCopy)")
            } else {
                print("reminder: the server key \(keyPath) is not in the copy; keep it too (apart from the copy), "
                      + "or no cookie or token of the copy can be checked (or run again with --with-key)")
            }
            return "to \(to)" + (withKey ? " with the server key" : " without the server key")
        }
    }
}
