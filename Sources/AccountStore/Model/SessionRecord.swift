/// A session as stored. The cookie is not part of it: it is derived from `id`
/// with the server key (`AccountStore.cookie(forSessionID:)`).
public struct SessionRecord: Sendable, Equatable {
    /// 16 random bytes as hex. Not a secret.
    public let id: String
    /// The account it belongs to.
    public let accountID: Int64
    /// When it started (Unix seconds).
    public let created: Int64
    /// When its cookie stops being accepted (Unix seconds).
    public let expires: Int64
    /// When it was last used (Unix seconds).
    public let lastSeen: Int64
    /// Whether it was revoked (live sessions never are).
    public let revoked: Bool
    /// The broker principals the login passed through, the one nearest the user first.
    public let brokerPath: [String]
    /// The address the login came from.
    public let source: String
}

/// A session just started: its identity and, once, its cookie.
public struct StartedSession: Sendable {
    /// The session's id.
    public let id: String
    /// The cookie, to hand to the user who logged in. A secret.
    public let cookie: String
    /// When it started (Unix seconds).
    public let created: Int64
    /// When its cookie stops being accepted (Unix seconds).
    public let expires: Int64
}

/// What a cookie check needs of a live session: which one, and until when.
public struct LiveSession: Sendable, Equatable {
    /// The session's id (not a secret).
    public let id: String
    /// Unix seconds when its cookie stops being accepted.
    public let expires: Int64
    /// Unix seconds of its last recorded use.
    public let lastSeen: Int64
}
