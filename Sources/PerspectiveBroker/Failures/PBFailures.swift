import Banana

/// The standard failures a PB server sends, with the parents Twisted clients check.
public enum PBFailures {
    private static let exceptionRoots = ["builtins.Exception", "builtins.BaseException", "builtins.object"]

    /// `twisted.cred.error.UnauthorizedLogin`: `failure.check(UnauthorizedLogin)` is true on a Twisted client.
    public static func unauthorizedLogin(_ message: String = "") -> JellyFailure {
        JellyFailure(
            type: "twisted.cred.error.UnauthorizedLogin", value: message,
            parents: ["twisted.cred.error.UnauthorizedLogin", "twisted.cred.error.LoginFailed",
                      "twisted.cred.error.Unauthorized"] + exceptionRoots)
    }

    /// `twisted.cred.error.UnhandledCredentials`: a login kind the portal does not support
    /// (what Twisted answers to `loginAnonymous` without an anonymous checker).
    public static func unhandledCredentials(_ message: String = "") -> JellyFailure {
        JellyFailure(type: "twisted.cred.error.UnhandledCredentials", value: message,
                     parents: ["twisted.cred.error.UnhandledCredentials", "twisted.cred.error.LoginFailed"]
                         + exceptionRoots)
    }

    /// `twisted.spread.flavors.NoSuchMethod` (an `AttributeError`): a plain referenceable lacks `method`.
    public static func noSuchMethod(_ method: String) -> JellyFailure {
        JellyFailure(
            type: "twisted.spread.flavors.NoSuchMethod", value: "No such method: remote_\(method)",
            parents: ["twisted.spread.flavors.NoSuchMethod", "builtins.AttributeError"] + exceptionRoots)
    }

    /// `builtins.AttributeError`: an avatar lacks `method` (what `pb.Avatar` sends).
    public static func attributeError(_ message: String) -> JellyFailure {
        JellyFailure(type: "builtins.AttributeError", value: message,
                     parents: ["builtins.AttributeError"] + exceptionRoots)
    }

    /// `builtins.TypeError`: wrong argument count or types.
    public static func typeError(_ message: String) -> JellyFailure {
        JellyFailure(type: "builtins.TypeError", value: message, parents: ["builtins.TypeError"] + exceptionRoots)
    }

    /// `twisted.spread.jelly.InsecureJelly`: the arguments held a type PB refuses.
    public static func insecureJelly(_ message: String) -> JellyFailure {
        JellyFailure(type: "twisted.spread.jelly.InsecureJelly", value: message,
                     parents: ["twisted.spread.jelly.InsecureJelly"] + exceptionRoots)
    }

    /// `twisted.spread.pb.Error`, e.g. "Invalid Object ID".
    public static func pbError(_ message: String) -> JellyFailure {
        JellyFailure(type: "twisted.spread.pb.Error", value: message,
                     parents: ["twisted.spread.pb.Error"] + exceptionRoots)
    }
}
