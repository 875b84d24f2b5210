/// What kind of principal an account is.
public enum AccountKind: String, Sendable, Codable {
    /// A person (or program) that logs in with a password or a cookie.
    case user
    /// A broker principal: a subordinate's identity at its upstream, logging in with a token.
    case broker
}

/// An account as the store reports it. Holds no secret.
public struct Account: Sendable, Equatable {
    /// The row id, stable for the account's life.
    public let id: Int64
    /// The account's name.
    public let name: String
    /// User or broker principal.
    public let kind: AccountKind
    /// Whether logins are refused.
    public let disabled: Bool
    /// When it was created (Unix seconds).
    public let created: Int64
    /// The last successful login (Unix seconds), if any.
    public let lastLogin: Int64?
    /// Consecutive wrong secrets since the last success.
    public let failedAttempts: Int
    /// Until when password attempts are refused (Unix seconds), if a lock was ever set.
    public let lockedUntil: Int64?
    /// Moves on with every admin change to the account's password, standing (disabled or
    /// enabled) or sessions (all revoked); a check compares it before starting a session.
    public let credentialsVersion: Int64

    /// Whether password attempts are refused at `now`.
    public func isLocked(now: Int64) -> Bool {
        lockedUntil.map { $0 > now } ?? false
    }
}
