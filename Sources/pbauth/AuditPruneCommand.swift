import AccountStore
import ArgumentParser
import Foundation

/// `pbauth audit prune --before DATE`: deletes the audit entries older than DATE. The only way
/// entries leave the log (the schema refuses any other delete), and itself recorded there.
struct AuditPruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete the audit entries written before a date (the prune itself is recorded).",
        discussion: """
            DATE is a UTC date (2026-01-31, meaning its midnight) or an ISO 8601 time \
            (2026-01-31T12:00:00Z); it must not be in the future. Entries are deleted in \
            small transactions, so a running master goes on writing meanwhile.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Delete the entries written before this date.", valueName: "DATE"))
    var before: String

    @OptionGroup var options: DatabaseOptions

    func validate() throws {
        guard let cutoff = Self.parse(before) else {
            throw ValidationError("--before takes a date such as 2026-01-31 or 2026-01-31T12:00:00Z")
        }
        guard cutoff <= Int64(Date().timeIntervalSince1970) else {
            throw ValidationError("--before must not be in the future")
        }
    }

    func run() throws {
        guard let cutoff = Self.parse(before) else { throw ValidationError("--before takes a date") }
        try AdminAction.run(options, action: "audit.prune", account: nil) { store in
            let deleted = try store.pruneAudit(before: cutoff)
            print("deleted \(deleted) audit entr\(deleted == 1 ? "y" : "ies") written before \(TimeText.iso(cutoff))")
            return "deleted \(deleted) entries before \(TimeText.iso(cutoff))"
        }
    }

    /// Unix seconds of `text`: `YYYY-MM-DD` (UTC midnight) or an ISO 8601 time with a zone.
    static func parse(_ text: String) -> Int64? {
        let full = ISO8601DateFormatter()
        if let date = full.date(from: text) { return Int64(date.timeIntervalSince1970) }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        day.timeZone = TimeZone(identifier: "UTC")
        if text.count == 10, let date = day.date(from: text) { return Int64(date.timeIntervalSince1970) }
        return nil
    }
}
