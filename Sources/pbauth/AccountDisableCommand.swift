import AccountStore
import ArgumentParser

/// `pbauth account disable NAME`: refuses logins and revokes every session.
struct AccountDisableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Disable an account: logins are refused and its sessions revoked."
    )

    @Argument(help: "The account's name.")
    var name: String

    @OptionGroup var options: DatabaseOptions

    func run() throws {
        try AdminAction.run(options, action: "account.disable", account: name) { store in
            try store.setDisabled(true, name: name)
            print("disabled \(name) and revoked its sessions")
            return nil
        }
    }
}
