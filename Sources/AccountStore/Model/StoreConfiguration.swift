/// What can be tuned in the store.
public struct StoreConfiguration: Sendable {
    /// scrypt parameters for new hashes; a stored hash with other parameters is
    /// replaced at its next successful check.
    public var scrypt: ScryptParameters
    /// How long a statement waits for another connection's lock before failing.
    public var busyTimeoutMilliseconds: Int32
    /// Pages in the write-ahead log after which a commit checkpoints it (`PRAGMA
    /// wal_autocheckpoint`); 0 leaves checkpoints to another process (Litestream); nil keeps
    /// SQLite's default (1000).
    public var walAutocheckpointPages: Int?

    /// Creates a configuration (defaults: OWASP's scrypt parameters, a 5 s busy timeout,
    /// SQLite's automatic checkpoints).
    public init(scrypt: ScryptParameters = .default, busyTimeoutMilliseconds: Int32 = 5_000, walAutocheckpointPages: Int? = nil) {
        self.scrypt = scrypt
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.walAutocheckpointPages = walAutocheckpointPages
    }
}
