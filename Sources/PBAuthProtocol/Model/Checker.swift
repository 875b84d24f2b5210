import Banana
import PerspectiveBroker

/// The checker service of protocol.md section 4, seen from a broker: the master
/// answers it from its database, a subordinate by asking its upstream. The
/// portal, the avatars and the network code do not know which one they have;
/// that is the whole of recursive authentication.
public protocol Checker: Sendable {
    /// Checks a PB challenge-response for `username`. `via` names the broker
    /// principals the request already passed through, nearest the user first;
    /// `source` is the address the user came from (for the audit log).
    /// Throws `AuthenticationFailure`.
    func authenticateAccount(username: String, challenge: [UInt8], response: [UInt8], via: [String], source: String) async throws -> AuthenticationStatus

    /// Answers `authenticateAccount` at once, on the caller's thread (an event loop), when
    /// it can without waiting for anything and without blocking; nil when it cannot (then
    /// call `authenticateAccount`). Only a success may be answered this way.
    func authenticateAccountAtOnce(username: String, challenge: [UInt8], response: [UInt8], via: [String], source: String) -> AuthenticationStatus?

    /// The public facts of an account: `{"username", "disabled", "created", "last_login"}`.
    /// `via` names the broker principals the call passed through, as for `authenticateAccount`.
    func getAccount(username: String, via: [String]) async throws -> JellyValue

    /// `{"username", "disabled", "locked", "live_sessions"}`.
    func accountStatus(username: String, via: [String]) async throws -> JellyValue

    /// Revokes one session of `username` at the master. `via` is empty for a user's own logout.
    func revokeSession(username: String, session: String, via: [String]) async throws

    /// Throws unless every name on `path` may make broker calls here (protocol.md section
    /// 4.7): the master checks that each is an existing, enabled broker principal; a
    /// subordinate leaves that to its upstream, which sees the path of every call it forwards.
    func checkBrokerPath(_ path: [String]) async throws

    /// Tells the checker that broker principal `principal` logged in on `connection`, so that
    /// the master can close the connection when the principal is disabled or removed.
    /// Answers what to run when the login ends, if anything.
    func brokerLoggedIn(_ principal: String, on connection: PBConnectionInfo) -> (@Sendable () -> Void)?
}

extension Checker {
    /// No answer at once: every check waits for `authenticateAccount`.
    public func authenticateAccountAtOnce(username: String, challenge: [UInt8], response: [UInt8], via: [String], source: String) -> AuthenticationStatus? {
        nil
    }

    /// Nothing to check here: the upstream checks the path of every call it is forwarded.
    public func checkBrokerPath(_ path: [String]) async throws {}

    /// Nothing to keep: only the master closes the connections of revoked principals.
    public func brokerLoggedIn(_ principal: String, on connection: PBConnectionInfo) -> (@Sendable () -> Void)? { nil }
}
