import ArgumentParser

/// `pbauth session …`: live sessions.
struct SessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "List and revoke sessions.",
        subcommands: [SessionListCommand.self, SessionRevokeCommand.self]
    )
}
