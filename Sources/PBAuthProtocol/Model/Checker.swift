import Banana

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

    /// The public facts of an account: `{"username", "disabled", "created", "last_login"}`.
    func getAccount(username: String) async throws -> JellyValue

    /// `{"username", "disabled", "locked", "live_sessions"}`.
    func accountStatus(username: String) async throws -> JellyValue

    /// Revokes one session of `username` at the master.
    func revokeSession(username: String, session: String) async throws
}
