import AccountStore
import ArgumentParser
import Foundation

/// `pbauth migrate`: creates the database if needed and applies pending migrations.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create the database or apply its pending migrations.",
        discussion: "The migrations ship inside pbauth; --migrations uses a folder of NNNN_what_it_does.sql files instead."
    )

    @OptionGroup var options: DatabaseOptions

    @Flag(name: .long, help: "List applied and pending migrations; change nothing.")
    var status = false

    @Option(name: .long, help: ArgumentHelp("A folder of migration files to use instead of the built-in ones.", valueName: "dir"))
    var migrations: String?

    func run() throws {
        let source: MigrationSource = migrations.map { .folder($0) } ?? .embedded
        try AdminAction.reportingFailures(databasePath: options.databasePath) {
            let configuration = try options.storeConfiguration()
            if status {
                let report = try AccountStore.migrationStatus(databasePath: options.databasePath, source: source, configuration: configuration)
                for entry in report {
                    switch entry.state {
                    case .applied(let at): print("applied  \(entry.name)  \(TimeText.iso(at))")
                    case .pending: print("pending  \(entry.name)")
                    case .unknown: print("unknown  \(entry.name)  (recorded in the database, not in this pbauth)")
                    }
                }
                return
            }
            let applied = try AccountStore.migrate(
                databasePath: options.databasePath, source: source, configuration: configuration, actor: AdminAction.actor)
            if applied.isEmpty {
                print("the database \(options.databasePath) is up to date")
            } else {
                for name in applied { print("applied \(name)") }
            }
        }
    }
}

/// Times as the admin command prints them.
enum TimeText {
    /// `2026-11-29T13:30:00Z`.
    static func iso(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// An optional time, `-` when absent.
    static func iso(_ seconds: Int64?) -> String { seconds.map { iso($0) } ?? "-" }
}
