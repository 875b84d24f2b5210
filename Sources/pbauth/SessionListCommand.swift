import AccountStore
import ArgumentParser

/// `pbauth session list [NAME] [--json]`. Shows session ids, never cookies.
struct SessionListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List live sessions, of every account or of one."
    )

    @Argument(help: "Only this account's sessions.")
    var name: String?

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    @OptionGroup var options: DatabaseOptions

    func run() throws {
        try AdminAction.run(options, action: "session.list", account: name) { store in
            let now = AdminAction.now()
            let sessions: [(account: String, session: SessionRecord)]
            if let name {
                guard let account = try store.account(named: name) else { throw StoreError.noSuchAccount(name) }
                sessions = try store.liveSessions(accountID: account.id, now: now, idleLimit: nil)
                    .sorted { ($0.created, $0.id) < ($1.created, $1.id) }
                    .map { (name, $0) }
            } else {
                sessions = try store.allLiveSessions(now: now)
            }
            if json {
                print(try JSONText.encode(sessions.map { SessionJSON(account: $0.account, session: $0.session) }))
            } else {
                print(TableText.render(
                    header: ["ACCOUNT", "SESSION", "CREATED", "EXPIRES", "LAST SEEN", "SOURCE", "VIA"],
                    rows: sessions.map { entry in
                        [entry.account, entry.session.id, TimeText.iso(entry.session.created), TimeText.iso(entry.session.expires),
                         TimeText.iso(entry.session.lastSeen), entry.session.source.isEmpty ? "-" : entry.session.source,
                         entry.session.brokerPath.isEmpty ? "-" : entry.session.brokerPath.joined(separator: ",")]
                    }))
            }
            return nil
        }
    }
}

/// A session as `session list --json` prints it.
struct SessionJSON: Encodable {
    let account: String
    let session: SessionRecord

    enum CodingKeys: String, CodingKey {
        case account, session, created, expires, lastSeen = "last_seen", brokerPath = "broker_path", source
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(account, forKey: .account)
        try container.encode(session.id, forKey: .session)
        try container.encode(session.created, forKey: .created)
        try container.encode(session.expires, forKey: .expires)
        try container.encode(session.lastSeen, forKey: .lastSeen)
        try container.encode(session.brokerPath, forKey: .brokerPath)
        try container.encode(session.source, forKey: .source)
    }
}
