import ArgumentParser
import PBAuthDaemon
import PBAuthMaster
import Logging

/// `pbauth master`: runs the master in the foreground until SIGTERM or SIGINT.
struct MasterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "master",
        abstract: "Run the master: the PB portal and checker service over the account database.",
        discussion: """
            Settings come from config/master.conf (or --config), then PBAUTH_<KEY> environment \
            variables, then flags. A missing database is created and migrated; an existing one \
            with pending migrations is refused (run 'pbauth migrate').
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(help: ArgumentHelp("The SQLite database.", valueName: "PATH"))
    var database: String?

    @Option(help: ArgumentHelp("Where to listen.", valueName: "HOST:PORT"))
    var listen: String?

    @Option(name: .customLong("key-file"), help: ArgumentHelp("The server key (default: the database path plus .key).", valueName: "PATH"))
    var keyFile: String?

    @Flag(name: .customLong("pb-password-login"), inversion: .prefixedNo,
          help: "Keep PB password verifiers so that users can log in to PB with their password.")
    var pbPasswordLogin: Bool?

    func run() async throws {
        try await reportingDaemonFailures {
            var flags: [String: String] = [:]
            flags["database"] = database
            flags["listen"] = listen
            flags["key_file"] = keyFile
            flags["pb_password_login"] = pbPasswordLogin.map { $0 ? "true" : "false" }
            let settings = try daemon.settings(known: MasterConfiguration.keys, defaultFile: "config/master.conf", flags: flags)
            let configuration = try MasterConfiguration(settings: settings)
            let logger = try bootstrapLogging(level: configuration.logLevel)
            try await Daemon.runMaster(configuration, logger: logger)
        }
    }
}
