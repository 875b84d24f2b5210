import AccountStore
import ArgumentParser

/// `pbauth account remove NAME`.
struct AccountRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove an account and its sessions (the audit log keeps its history)."
    )

    @Argument(help: "The account's name.")
    var name: String

    @OptionGroup var options: DatabaseOptions

    func run() throws {
        try AdminAction.run(options, action: "account.remove", account: name) { store in
            try store.removeAccount(name: name)
            print("removed \(name)")
            return nil
        }
    }
}
