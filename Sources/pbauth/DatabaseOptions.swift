import AccountStore
import ArgumentParser
import Foundation

/// Options shared by every command that uses the database.
///
/// Hidden tuning through the environment (for tests and slow machines):
/// `PBAUTH_SCRYPT_LN` sets scrypt's log2(N) for new hashes (default 17), and
/// `PBAUTH_BUSY_TIMEOUT_MS` how long to wait for another process's lock (default 5000).
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The database file (default: $PBAUTH_DATABASE, else ./pbauth.sqlite).", valueName: "path"))
    var database: String?

    @Option(name: .customLong("key-file"), help: ArgumentHelp("The server key file (default: the database path plus .key).", valueName: "path"))
    var keyFile: String?

    /// The database path after defaults.
    var databasePath: String {
        database ?? ProcessInfo.processInfo.environment["PBAUTH_DATABASE"] ?? "pbauth.sqlite"
    }

    /// The store configuration, from the environment's tuning variables.
    func storeConfiguration() throws -> StoreConfiguration {
        var configuration = StoreConfiguration()
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["PBAUTH_SCRYPT_LN"] {
            guard let logN = Int(text) else { throw AdminFailure("PBAUTH_SCRYPT_LN must be a whole number, not \(text)") }
            configuration.scrypt.logN = logN
        }
        if let text = environment["PBAUTH_BUSY_TIMEOUT_MS"] {
            guard let milliseconds = Int32(text), milliseconds >= 0 else {
                throw AdminFailure("PBAUTH_BUSY_TIMEOUT_MS must be a whole number of milliseconds, not \(text)")
            }
            configuration.busyTimeoutMilliseconds = milliseconds
        }
        return configuration
    }

    /// Opens the store.
    func openStore() throws -> AccountStore {
        try AccountStore.open(databasePath: databasePath, keyPath: keyFile, configuration: try storeConfiguration())
    }
}
