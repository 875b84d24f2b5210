import Banana

/// The precise reasons a check fails (protocol.md section 4), as they travel to
/// brokers. Each one lists `twisted.cred.error.UnauthorizedLogin` among its
/// parents, except `upstreamUnavailable`, which is not a refusal of the secret.
public enum AuthenticationFailure: Error, Sendable, Equatable, CaseIterable {
    /// No account has that name.
    case noSuchAccount
    /// The secret matched neither a live cookie nor a password verifier, and the account has no live cookie.
    case invalidPassword
    /// The account has live cookies and none matched.
    case authenticationCookieMismatch
    /// The account is disabled.
    case accountDisabled
    /// Too many consecutive wrong secrets: password attempts are refused for a while.
    case lockedOut
    /// The request passed through too many brokers, or through this one already.
    case hopLimitExceeded
    /// This session did not begin with a password, so it has no cookie to hand out.
    case noAuthenticationCookie
    /// The upstream broker cannot be reached.
    case upstreamUnavailable
    /// The broker's work queue is full: the check was refused at once instead of waiting.
    case overloaded

    /// The failure's type name on the wire, e.g. `pbauth.NoSuchAccount`.
    public var typeName: String {
        switch self {
        case .noSuchAccount: "pbauth.NoSuchAccount"
        case .invalidPassword: "pbauth.InvalidPassword"
        case .authenticationCookieMismatch: "pbauth.AuthenticationCookieMismatch"
        case .accountDisabled: "pbauth.AccountDisabled"
        case .lockedOut: "pbauth.LockedOut"
        case .hopLimitExceeded: "pbauth.HopLimitExceeded"
        case .noAuthenticationCookie: "pbauth.NoAuthenticationCookie"
        case .upstreamUnavailable: "pbauth.UpstreamUnavailable"
        case .overloaded: "pbauth.Overloaded"
        }
    }

    /// A short message for brokers and admins; never names a secret.
    public var message: String {
        switch self {
        case .noSuchAccount: "no such account"
        case .invalidPassword: "invalid password"
        case .authenticationCookieMismatch: "no live authentication cookie matched"
        case .accountDisabled: "account disabled"
        case .lockedOut: "locked out after too many failed attempts"
        case .hopLimitExceeded: "hop limit exceeded or forwarding loop"
        case .noAuthenticationCookie: "this session did not begin with a password"
        case .upstreamUnavailable: "upstream broker unavailable"
        case .overloaded: "too much work waits at this broker; try again later"
        }
    }

    static let unauthorizedLoginParents = [
        "twisted.cred.error.UnauthorizedLogin",
        "twisted.cred.error.LoginFailed",
        "twisted.cred.error.Unauthorized",
        "builtins.Exception",
        "builtins.BaseException",
        "builtins.object",
    ]

    /// The failure as PB sends it.
    public var jellyFailure: JellyFailure {
        let parents: [String]
        switch self {
        case .upstreamUnavailable, .noAuthenticationCookie:
            parents = [typeName, "twisted.spread.pb.Error", "builtins.Exception", "builtins.BaseException", "builtins.object"]
        default:
            parents = [typeName] + Self.unauthorizedLoginParents
        }
        return JellyFailure(type: typeName, value: message, parents: parents)
    }

    /// `error` when it is an `AuthenticationFailure` (the master and the upstream checker
    /// map their own full queues to `overloaded` where they meet them), else nil.
    public init?(local error: any Error) {
        guard let failure = error as? AuthenticationFailure else { return nil }
        self = failure
    }

    /// Recognizes a failure that an upstream broker sent.
    public init?(_ failure: JellyFailure) {
        guard let match = Self.allCases.first(where: { $0.typeName == failure.type }) else { return nil }
        self = match
    }
}
