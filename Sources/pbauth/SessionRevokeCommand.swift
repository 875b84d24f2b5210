import AccountStore
import ArgumentParser

/// `pbauth session revoke NAME (--session ID | --all)`.
struct SessionRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke one session of an account, or all of them."
    )

    @Argument(help: "The account's name.")
    var name: String

    @Option(name: .long, help: ArgumentHelp("The id of the session to revoke (from `session list`).", valueName: "id"))
    var session: String?

    @Flag(name: .long, help: "Revoke every session of the account.")
    var all = false

    @OptionGroup var options: DatabaseOptions

    func validate() throws {
        if (session == nil) == !all {
            throw ValidationError("give exactly one of --session ID or --all")
        }
    }

    func run() throws {
        try AdminAction.run(options, action: all ? "session.revoke_all" : "session.revoke", account: name) { store in
            guard let account = try store.account(named: name) else { throw StoreError.noSuchAccount(name) }
            if let session {
                guard let record = try store.session(id: session), record.accountID == account.id else {
                    throw AdminFailure("account \(name) has no session \(session.prefix(64)); see `pbauth session list \(name)`")
                }
                guard try store.revokeSession(id: record.id) else {
                    throw AdminFailure("session \(record.id) of \(name) was already revoked")
                }
                print("revoked session \(record.id) of \(name)")
                return "session \(record.id)"
            }
            let count = try store.revokeAllSessions(accountID: account.id)
            print("revoked \(count) session\(count == 1 ? "" : "s") of \(name)")
            return "\(count) sessions"
        }
    }
}
