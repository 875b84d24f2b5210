/// One line of the append-only audit log: an admin action or a login. Never holds a secret.
public struct AuditEntry: Sendable, Equatable, Codable {
    /// When it happened (Unix seconds).
    public var time: Int64
    /// Who did it: `admin:<OS user>` for the admin command, or a broker path for logins.
    public var actor: String
    /// What was done, for example `account.add`, `session.revoke`, `login.password`.
    public var action: String
    /// The account concerned, if any.
    public var account: String?
    /// `success`, `refused` or `failure`.
    public var outcome: String
    /// Why, when it was refused or failed (an error message, never a secret).
    public var reason: String?
    /// The broker principals a login passed through, nearest the user first.
    public var brokerPath: [String]
    /// The address a login came from.
    public var source: String

    /// Creates an entry.
    public init(time: Int64, actor: String, action: String, account: String? = nil, outcome: String,
                reason: String? = nil, brokerPath: [String] = [], source: String = "") {
        self.time = time
        self.actor = actor
        self.action = action
        self.account = account
        self.outcome = outcome
        self.reason = reason
        self.brokerPath = brokerPath
        self.source = source
    }
}
