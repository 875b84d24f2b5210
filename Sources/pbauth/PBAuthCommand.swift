import ArgumentParser

@main
struct PBAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pbauth",
        abstract: "Central authentication for Perspective Broker brokers.",
        discussion: """
            The database defaults to $PBAUTH_DATABASE, else pbauth.sqlite in the current \
            directory; its server key to the database path plus .key.
            """,
        subcommands: [
            MasterCommand.self,
            SubordinateCommand.self,
            MigrateCommand.self,
            AccountCommand.self,
            SessionCommand.self,
            AuditCommand.self,
            BackupCommand.self,
        ]
    )
}
