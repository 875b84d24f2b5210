import AccountStore
import ArgumentParser

/// `pbauth account list [--json]`. Shows no secret.
struct AccountListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the accounts."
    )

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    @OptionGroup var options: DatabaseOptions

    func run() throws {
        try AdminAction.run(options, action: "account.list", account: nil) { store in
            let accounts = try store.listAccounts()
            let now = AdminAction.now()
            if json {
                print(try JSONText.encode(accounts.map { AccountJSON($0, now: now) }))
            } else {
                print(TableText.render(
                    header: ["NAME", "KIND", "STATE", "CREATED", "LAST LOGIN", "FAILED"],
                    rows: accounts.map { account in
                        [account.name, account.kind.rawValue,
                         account.disabled ? "disabled" : account.isLocked(now: now) ? "locked" : "enabled",
                         TimeText.iso(account.created), TimeText.iso(account.lastLogin), String(account.failedAttempts)]
                    }))
            }
            return nil
        }
    }
}

/// An account as `account list --json` prints it.
struct AccountJSON: Encodable {
    let account: Account
    let now: Int64

    init(_ account: Account, now: Int64) {
        self.account = account
        self.now = now
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, disabled, locked, created, lastLogin = "last_login", failedAttempts = "failed_attempts", lockedUntil = "locked_until"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(account.name, forKey: .name)
        try container.encode(account.kind.rawValue, forKey: .kind)
        try container.encode(account.disabled, forKey: .disabled)
        try container.encode(account.isLocked(now: now), forKey: .locked)
        try container.encode(account.created, forKey: .created)
        try container.encode(account.lastLogin, forKey: .lastLogin)
        try container.encode(account.failedAttempts, forKey: .failedAttempts)
        try container.encode(account.lockedUntil, forKey: .lockedUntil)
    }
}
