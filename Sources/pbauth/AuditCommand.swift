import AccountStore
import ArgumentParser

/// `pbauth audit …`: the audit log; `show` (the default) and `prune`.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the audit log (admin actions and logins), or prune its old entries.",
        subcommands: [AuditShowCommand.self, AuditPruneCommand.self],
        defaultSubcommand: AuditShowCommand.self
    )
}

/// `pbauth audit [show] [--json] [--limit N]`: the audit log, oldest first.
struct AuditShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show the audit log (admin actions and logins), oldest first."
    )

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    @Option(name: .long, help: "Show only the latest N entries.")
    var limit: Int?

    @OptionGroup var options: DatabaseOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        // Like every admin command, reading the log is recorded (after the read).
        try AdminAction.run(options, action: "audit.read", account: nil) { store in
            let entries = try store.auditEntries(limit: limit)
            if json {
                print(try JSONText.encode(entries.map(AuditJSON.init)))
            } else {
                print(TableText.render(
                    header: ["TIME", "ACTOR", "ACTION", "ACCOUNT", "OUTCOME", "VIA", "SOURCE", "REASON"],
                    rows: entries.map { entry in
                        [TimeText.iso(entry.time), entry.actor, entry.action, entry.account ?? "-", entry.outcome,
                         entry.brokerPath.isEmpty ? "-" : entry.brokerPath.joined(separator: ","),
                         entry.source.isEmpty ? "-" : entry.source, entry.reason ?? "-"]
                    }))
            }
            return nil
        }
    }
}

/// An audit entry as `audit --json` prints it.
struct AuditJSON: Encodable {
    let entry: AuditEntry

    enum CodingKeys: String, CodingKey {
        case time, actor, action, account, outcome, reason, brokerPath = "broker_path", source
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entry.time, forKey: .time)
        try container.encode(entry.actor, forKey: .actor)
        try container.encode(entry.action, forKey: .action)
        try container.encode(entry.account, forKey: .account)
        try container.encode(entry.outcome, forKey: .outcome)
        try container.encode(entry.reason, forKey: .reason)
        try container.encode(entry.brokerPath, forKey: .brokerPath)
        try container.encode(entry.source, forKey: .source)
    }
}
