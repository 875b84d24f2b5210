import AccountStore
import ArgumentParser

/// `pbauth account enable NAME`.
struct AccountEnableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Enable a disabled account."
    )

    @Argument(help: "The account's name.")
    var name: String

    @OptionGroup var options: DatabaseOptions

    func run() throws {
        try AdminAction.run(options, action: "account.enable", account: name) { store in
            try store.setDisabled(false, name: name)
            print("enabled \(name)")
            return nil
        }
    }
}
