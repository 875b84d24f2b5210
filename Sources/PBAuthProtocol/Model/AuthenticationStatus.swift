import Banana

/// What a successful check answers (protocol.md section 5): who logged in, how,
/// and which session it belongs to.
public struct AuthenticationStatus: Sendable, Equatable {
    /// The kind of principal that logged in.
    public enum Kind: String, Sendable {
        /// An end user.
        case user
        /// A broker principal (a subordinate's login); it is served a broker avatar.
        case broker
    }

    /// The account's name.
    public var username: String
    /// User or broker principal.
    public var kind: Kind
    /// True when the login used the password (a new session was started), false for a cookie login.
    public var master: Bool
    /// The session's id (not a secret); empty for a broker principal.
    public var session: String
    /// Unix seconds when the session's cookie stops being accepted; 0 for a broker principal.
    public var expires: Int64
    /// The session's cookie: present only where the contract names it (a password login's answer).
    public var cookie: String?

    /// Creates a status.
    public init(username: String, kind: Kind, master: Bool, session: String, expires: Int64, cookie: String? = nil) {
        self.username = username
        self.kind = kind
        self.master = master
        self.session = session
        self.expires = expires
        self.cookie = cookie
    }

    /// What the login proved, for log lines and metrics: "token" (a broker principal),
    /// "password" (a new session was started) or "cookie". Never the secret itself.
    public var secretKind: String {
        kind == .broker ? "token" : master ? "password" : "cookie"
    }

    /// The same status without its cookie (what `whoami` answers).
    public var withoutCookie: AuthenticationStatus {
        var copy = self
        copy.cookie = nil
        return copy
    }

    /// The status as PB carries it: a dict with str keys.
    public var jellyValue: JellyValue {
        var entries: [(String, JellyValue)] = [
            ("username", .string(username)),
            ("kind", .string(kind.rawValue)),
            ("master", .bool(master)),
            ("session", .string(session)),
            ("expires", .int(Int(expires))),
        ]
        if let cookie { entries.append(("cookie", .string(cookie))) }
        return .stringKeyedDictionary(entries)
    }

    /// Reads a status answered by an upstream broker; `nil` when it does not have the contract's shape.
    public init?(jellyValue value: JellyValue) {
        guard let fields = value.dictionaryValue,
              let username = fields["username"]?.stringValue,
              let kind = fields["kind"]?.stringValue.flatMap(Kind.init(rawValue:)),
              let master = fields["master"]?.boolValue,
              let session = fields["session"]?.stringValue,
              let expires = fields["expires"]?.intValue
        else { return nil }
        let cookie = fields["cookie"]?.stringValue
        self.init(username: username, kind: kind, master: master, session: session, expires: Int64(expires), cookie: cookie)
    }
}
