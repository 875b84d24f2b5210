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
        listen = try settings.listenEndpoint("listen", default: defaults.listen)
        tls = try TLSListenerSettings(settings: settings)
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
        guard listen != nil || tls.listen != nil else { throw ConfigurationError.needs(key: "listen = off", other: "'tls_listen'") }
    }
}

extension SubordinateConfiguration {
    /// Reads every setting from `settings`, falling back to the defaults; refuses a missing upstream, broker or token file.
    public init(settings: Settings) throws {
        self.init()
        let defaults = SubordinateConfiguration()
        listen = try settings.listenEndpoint("listen", default: defaults.listen)
        tls = try TLSListenerSettings(settings: settings)
        upstreams = try settings.endpoints("upstream")
        upstreamTLS = try UpstreamTLSSettings(settings: settings)
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
        guard listen != nil || tls.listen != nil else { throw ConfigurationError.needs(key: "listen = off", other: "'tls_listen'") }
    }
}

extension TLSListenerSettings {
    /// Reads `tls_listen` and its files; refuses a TLS listener without a certificate or key,
    /// and files given without a TLS listener.
    public init(settings: Settings) throws {
        self.init()
        listen = try settings.listenEndpoint("tls_listen", default: nil)
        certificate = settings.path("tls_certificate")
        key = settings.path("tls_key")
        clientCA = settings.path("tls_client_ca")
        if listen != nil {
            guard certificate != nil else { throw ConfigurationError.missing(key: "tls_certificate", hint: "the PEM certificate chain served on tls_listen") }
            guard key != nil else { throw ConfigurationError.missing(key: "tls_key", hint: "the PEM private key of tls_certificate") }
        } else {
            for (key, value) in [("tls_certificate", certificate), ("tls_key", key), ("tls_client_ca", clientCA)] where value != nil {
                throw ConfigurationError.needs(key: key, other: "'tls_listen'")
            }
        }
    }
}

extension UpstreamTLSSettings {
    /// Reads `upstream_tls` and its files; refuses TLS without a CA, a certificate without
    /// its key (or the reverse), an IP address as the server name, and files given while
    /// the link is plain.
    public init(settings: Settings) throws {
        self.init()
        enabled = try settings.boolean("upstream_tls", default: false)
        ca = settings.path("upstream_ca")
        serverName = settings.string("upstream_server_name")
        certificate = settings.path("upstream_certificate")
        key = settings.path("upstream_key")
        guard enabled else {
            for (key, value) in [("upstream_ca", ca), ("upstream_server_name", serverName), ("upstream_certificate", certificate),
                                 ("upstream_key", key)] where value != nil {
                throw ConfigurationError.needs(key: key, other: "'upstream_tls = true'")
            }
            return
        }
        guard ca != nil else { throw ConfigurationError.missing(key: "upstream_ca", hint: "the PEM CA bundle that verifies the upstream") }
        if certificate != nil, key == nil { throw ConfigurationError.needs(key: "upstream_certificate", other: "'upstream_key'") }
        if key != nil, certificate == nil { throw ConfigurationError.needs(key: "upstream_key", other: "'upstream_certificate'") }
        if let serverName {
            let isDNSName = (1...253).contains(serverName.utf8.count) && serverName.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
            }
            guard isDNSName, !TLSClientContext.isIPAddress(serverName) else {
                throw ConfigurationError.invalidValue(
                    key: "upstream_server_name", expected: "a DNS name (to check an IP address, leave it unset and give the address in upstream)")
            }
        }
    }
}
