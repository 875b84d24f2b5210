import PBAuthProtocol
import Foundation

/// Every setting of `pbauth master`, with its default. `config/master.conf`
/// lists the same keys; the README documents them.
public struct MasterConfiguration: Sendable, Equatable {
    /// Where the PB portal listens in plain TCP; `nil` (`listen = off`): not at all.
    public var listen: Endpoint? = Endpoint(host: "127.0.0.1", port: 8787)
    /// Where and with which certificate the PB portal listens over TLS (off by default).
    public var tls = TLSListenerSettings()
    /// The SQLite database.
    public var database = "pbauth.sqlite"
    /// The server key; `nil` means the database's path plus `.key`.
    public var keyFile: String?
    /// Whether PB password logins are on (keeps an md5 verifier of each password).
    public var pbPasswordLogin = false
    /// How long a session's cookie is accepted after the login, in seconds.
    public var sessionLifetime = 86_400
    /// A session unused for this many seconds ends; 0 turns the idle limit off.
    public var sessionIdleLimit = 0
    /// Consecutive wrong secrets after which password attempts are locked out.
    public var lockoutThreshold = 10
    /// How long a lockout lasts, in seconds.
    public var lockoutSeconds = 900
    /// Whether `authenticate` (a password in clear) is accepted from non-loopback peers without
    /// TLS (it is always accepted over TLS).
    public var allowRemoteAuthenticate = false
    /// Threads (each with its own SQLite connection) for cookie checks and other quick reads.
    public var databaseThreads = 2
    /// At most this many scrypt computations run at once, each on its own thread.
    public var passwordThreads = 1
    /// At most this many database jobs wait for a thread; more fail at once (`pbauth.Overloaded`).
    public var databaseQueue = 4_096
    /// At most this many password hashes wait for a thread; more fail at once.
    public var passwordQueue = 32
    /// The bounds on connections.
    public var connections = ConnectionSettings()
    /// scrypt cost: log2 of N.
    public var scryptLogN = 17
    /// scrypt block size r.
    public var scryptR = 8
    /// scrypt parallelism p.
    public var scryptP = 1
    /// How often coalesced `last_seen` updates and audit records are written, in milliseconds.
    public var flushIntervalMilliseconds = 1_000
    /// How long a shutdown waits for calls in flight, in seconds.
    public var shutdownGraceSeconds = 10
    /// The log level: trace, debug, info, notice, warning, error, critical.
    public var logLevel = "info"
    /// Where the HTTP listener for metrics and health listens; `nil` (the default) turns it off.
    public var httpListen: Endpoint?
    /// Seconds after their end (expiry, revocation or idle limit) that sessions are deleted.
    public var sessionRetention = 7 * 86_400
    /// Pages of write-ahead log after which a commit checkpoints it; 0 leaves checkpoints to
    /// Litestream; `nil` keeps SQLite's default (1000).
    public var walAutocheckpoint: Int?

    /// The configuration file keys, in the order `config/master.conf` lists them.
    public static let keys: [String] = [
        "listen",
    ] + TLSListenerSettings.keys + [
        "database", "key_file", "pb_password_login", "session_lifetime", "session_idle_limit",
        "lockout_threshold", "lockout_seconds", "allow_remote_authenticate", "database_threads",
        "password_threads", "database_queue", "password_queue", "scrypt_ln", "scrypt_r", "scrypt_p", "flush_interval_ms",
    ] + ConnectionSettings.keys + [
        "shutdown_grace", "log_level",
    ] + [
        "http_listen", "session_retention", "wal_autocheckpoint",
    ]

    /// The defaults.
    public init() {}


    /// The key file in force: the setting, or the database's path plus `.key`.
    public var resolvedKeyFile: String { keyFile ?? database + ".key" }
}
