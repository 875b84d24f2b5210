import ArgumentParser

/// `pbauth account …`: users and broker principals.
struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Add, disable, enable, remove and list accounts; set passwords.",
        subcommands: [
            AccountAddCommand.self,
            AccountDisableCommand.self,
            AccountEnableCommand.self,
            AccountRemoveCommand.self,
            AccountPasswdCommand.self,
            AccountListCommand.self,
        ]
    )
}
