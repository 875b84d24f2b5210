import Banana

/// The server side of a PB login: checks a challenge response and makes the avatar.
public protocol PBPortal: Sendable {
    /// Checks `response` for `username` against `challenge` and answers the avatar.
    ///
    /// `username` holds the bytes the client sent (a Python `bytes` as is, a `str` as
    /// UTF-8). The expected response is MD5(MD5(secret) || challenge); compare it in
    /// constant time. Throw a `JellyFailure` (normally `PBFailures.unauthorizedLogin()`)
    /// to refuse; the connection stays open so the client may retry.
    func login(username: [UInt8], challenge: [UInt8], response: [UInt8], mind: JellyValue,
               connection: PBConnectionInfo) async throws -> PBAvatarLogin
}

/// A successful login: the avatar to hand to the client and what to run when it goes away.
public struct PBAvatarLogin: Sendable {
    /// The object the client's `login()` answers, by reference.
    public let avatar: any PBReferenceable
    /// Runs exactly once, when the client releases the avatar or the connection closes.
    public let logout: (@Sendable () -> Void)?

    /// Creates a login result.
    public init(avatar: any PBReferenceable, logout: (@Sendable () -> Void)? = nil) {
        self.avatar = avatar
        self.logout = logout
    }
}
