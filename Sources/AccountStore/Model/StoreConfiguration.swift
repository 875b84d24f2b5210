/// What can be tuned in the store.
public struct StoreConfiguration: Sendable {
    /// scrypt parameters for new hashes; a stored hash with other parameters is
    /// replaced at its next successful check.
    public var scrypt: ScryptParameters
    /// How long a statement waits for another connection's lock before failing.
    public var busyTimeoutMilliseconds: Int32

    /// Creates a configuration (defaults: OWASP's scrypt parameters, a 5 s busy timeout).
    public init(scrypt: ScryptParameters = .default, busyTimeoutMilliseconds: Int32 = 5_000) {
        self.scrypt = scrypt
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
    }
}
