import PBAuthMaster
import PBAuthProtocol
import PBAuthSubordinate

// Reading the daemons' configurations from `Settings` (files, PBAUTH_* variables, flags).

extension ConnectionSettings {
    /// Reads the four settings, falling back to the defaults.
    public init(settings: Settings) throws {
        self.init()
        let defaults = ConnectionSettings()
        maxConnections = try settings.integer("max_connections", default: defaults.maxConnections, range: 1...1_000_000)
        maxConnectionsPerSource = try settings.integer("max_connections_per_source", default: defaults.maxConnectionsPerSource, range: 1...1_000_000)
        idleTimeout = try settings.integer("idle_timeout", default: defaults.idleTimeout, range: 1...86_400)
        loggedInIdleTimeout = try settings.integer("logged_in_idle_timeout", default: defaults.loggedInIdleTimeout, range: 0...(366 * 86_400))
        throttleFreeFailures = try settings.integer("throttle_free_failures", default: defaults.throttleFreeFailures, range: 0...1_000_000)
        throttleBaseMilliseconds = try settings.integer("throttle_base_ms", default: defaults.throttleBaseMilliseconds, range: 0...600_000)
        throttleMaxMilliseconds = try settings.integer("throttle_max_ms", default: defaults.throttleMaxMilliseconds, range: 0...600_000)
    }
}

extension MasterConfiguration {
    /// Reads every setting from `settings`, falling back to the defaults.
    public init(settings: Settings) throws {
        self.init()
        let defaults = MasterConfiguration()
        listen = try settings.endpoint("listen", default: defaults.listen) ?? defaults.listen
        database = settings.string("database") ?? defaults.database
        keyFile = settings.string("key_file")
        pbPasswordLogin = try settings.boolean("pb_password_login", default: defaults.pbPasswordLogin)
        sessionLifetime = try settings.integer("session_lifetime", default: defaults.sessionLifetime, range: 1...(366 * 86_400))
        sessionIdleLimit = try settings.integer("session_idle_limit", default: defaults.sessionIdleLimit, range: 0...(366 * 86_400))
        lockoutThreshold = try settings.integer("lockout_threshold", default: defaults.lockoutThreshold, range: 1...1_000_000)
        lockoutSeconds = try settings.integer("lockout_seconds", default: defaults.lockoutSeconds, range: 1...(366 * 86_400))
        allowRemoteAuthenticate = try settings.boolean("allow_remote_authenticate", default: defaults.allowRemoteAuthenticate)
        databaseThreads = try settings.integer("database_threads", default: defaults.databaseThreads, range: 1...64)
        passwordThreads = try settings.integer("password_threads", default: defaults.passwordThreads, range: 1...64)
        databaseQueue = try settings.integer("database_queue", default: defaults.databaseQueue, range: 1...1_000_000)
        passwordQueue = try settings.integer("password_queue", default: defaults.passwordQueue, range: 1...1_000_000)
        connections = try ConnectionSettings(settings: settings)
        scryptLogN = try settings.integer("scrypt_ln", default: defaults.scryptLogN, range: 1...22)
        scryptR = try settings.integer("scrypt_r", default: defaults.scryptR, range: 1...32)
        scryptP = try settings.integer("scrypt_p", default: defaults.scryptP, range: 1...16)
        flushIntervalMilliseconds = try settings.integer("flush_interval_ms", default: defaults.flushIntervalMilliseconds, range: 10...60_000)
        shutdownGraceSeconds = try settings.integer("shutdown_grace", default: defaults.shutdownGraceSeconds, range: 0...3_600)
        logLevel = settings.string("log_level") ?? defaults.logLevel
        httpListen = try settings.endpoint("http_listen", default: nil)
        sessionRetention = try settings.integer("session_retention", default: defaults.sessionRetention, range: 0...(3_660 * 86_400))
        walAutocheckpoint = settings.string("wal_autocheckpoint") == nil ? nil
            : try settings.integer("wal_autocheckpoint", default: 1_000, range: 0...1_000_000)
    }
}

extension SubordinateConfiguration {
    /// Reads every setting from `settings`, falling back to the defaults; refuses a missing upstream, broker or token file.
    public init(settings: Settings) throws {
        self.init()
        let defaults = SubordinateConfiguration()
        listen = try settings.endpoint("listen", default: defaults.listen) ?? defaults.listen
        upstreams = try settings.endpoints("upstream")
        broker = settings.string("broker")
        tokenFile = settings.string("token_file")
        hopLimit = try settings.integer("hop_limit", default: defaults.hopLimit, range: 1...64)
        reconnectMaxDelayMilliseconds = try settings.integer("reconnect_max_delay_ms", default: defaults.reconnectMaxDelayMilliseconds, range: 10...600_000)
        upstreamTimeoutMilliseconds = try settings.integer("upstream_timeout_ms", default: defaults.upstreamTimeoutMilliseconds, range: 10...600_000)
        upstreamHeartbeat = try settings.integer("upstream_heartbeat", default: defaults.upstreamHeartbeat, range: 1...86_400)
        connections = try ConnectionSettings(settings: settings)
        shutdownGraceSeconds = try settings.integer("shutdown_grace", default: defaults.shutdownGraceSeconds, range: 0...3_600)
        logLevel = settings.string("log_level") ?? defaults.logLevel
        httpListen = try settings.endpoint("http_listen", default: nil)
        guard upstream != nil else { throw ConfigurationError.missing(key: "upstream", hint: "--upstream HOST:PORT") }
        guard broker != nil else { throw ConfigurationError.missing(key: "broker", hint: "--broker NAME") }
        guard tokenFile != nil else { throw ConfigurationError.missing(key: "token_file", hint: "--token-file FILE") }
    }
}
