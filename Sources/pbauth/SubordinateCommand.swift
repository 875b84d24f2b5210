import ArgumentParser
import PBAuthDaemon
import PBAuthSubordinate
import Logging

/// `pbauth subordinate`: runs a subordinate broker in the foreground until SIGTERM or SIGINT.
struct SubordinateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subordinate",
        abstract: "Run a subordinate broker that checks every login with its upstream.",
        discussion: """
            Settings come from config/subordinate.conf (or --config), then PBAUTH_<KEY> environment \
            variables, then flags. --upstream, --broker and --token-file must be given somewhere.
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(help: ArgumentHelp("The upstream broker (the master or another subordinate); a comma-separated list names standbys, tried in order.", valueName: "HOST:PORT[,HOST:PORT...]"))
    var upstream: String?

    @Option(help: ArgumentHelp("This broker's principal name at its upstream.", valueName: "NAME"))
    var broker: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("The file holding the principal's token.", valueName: "FILE"))
    var tokenFile: String?

    @Option(help: ArgumentHelp("Where to listen.", valueName: "HOST:PORT"))
    var listen: String?

    @Option(name: .customLong("hop-limit"), help: ArgumentHelp("The longest forwarding path accepted.", valueName: "N"))
    var hopLimit: Int?

    func run() async throws {
        try await reportingDaemonFailures {
            var flags: [String: String] = [:]
            flags["upstream"] = upstream
            flags["broker"] = broker
            flags["token_file"] = tokenFile
            flags["listen"] = listen
            flags["hop_limit"] = hopLimit.map(String.init)
            let settings = try daemon.settings(known: SubordinateConfiguration.keys, defaultFile: "config/subordinate.conf", flags: flags)
            let configuration = try SubordinateConfiguration(settings: settings)
            let logger = try bootstrapLogging(level: configuration.logLevel)
            try await Daemon.runSubordinate(configuration, logger: logger)
        }
    }
}
