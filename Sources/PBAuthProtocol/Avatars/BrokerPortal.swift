import AccountNames
import Banana
import Logging
import PBAuthMetrics
import PerspectiveBroker

/// The PB portal of every pbauth broker (protocol.md section 1): checks a
/// login with this broker's `Checker` and makes the avatar. A refused login
/// always looks the same to the user (plain `UnauthorizedLogin`); the precise
/// reason goes to the log and, at the master, to the audit log.
///
/// The avatars are pbauth's own (user and broker avatars) unless an application gives
/// `makeAvatar` (see `PBAuthUpstream.portal(makeAvatar:)`).
public struct BrokerPortal: PBPortal {
    /// Makes the avatar of a login from its status and the client's mind.
    public typealias MakeAvatar = @Sendable (AuthenticationStatus, JellyValue) async throws -> PBAvatarLogin

    /// The root object a pbauth broker serves: the PB portal root over this portal, passing
    /// other methods to `fallback` (the master's `authenticate`).
    public static func root(checker: any Checker, logger: Logger, throttle: LoginThrottle? = nil,
                            fallback: (any PBReferenceable)? = nil) -> PBPortalRoot {
        PBPortalRoot(portal: BrokerPortal(checker: checker, logger: logger, throttle: throttle), fallback: fallback)
    }

    let checker: any Checker
    let logger: Logger
    let throttle: LoginThrottle?
    let makeAvatar: MakeAvatar?

    /// A portal whose logins `checker` decides; with a `throttle`, failed logins from one
    /// source are answered ever later; with `makeAvatar`, the avatars are the caller's.
    public init(checker: any Checker, logger: Logger, throttle: LoginThrottle? = nil, makeAvatar: MakeAvatar? = nil) {
        self.checker = checker
        self.logger = logger
        self.throttle = throttle
        self.makeAvatar = makeAvatar
    }

    /// Checks the login with the checker and makes a user or broker avatar; every refusal is
    /// a plain `UnauthorizedLogin` (the reason goes to the log).
    public func login(username: [UInt8], challenge: [UInt8], response: [UInt8], mind: JellyValue, connection: PBConnectionInfo) async throws -> PBAvatarLogin {
        guard let name = String(validating: username, as: UTF8.self), name.utf8.count <= AccountName.maximumLength else {
            logger.info("login refused", metadata: ["reason": "invalid username", "source": "\(connection.remoteAddress)"])
            await throttle?.failed(source: connection.remoteAddress)
            throw PBFailures.unauthorizedLogin()
        }
        let status: AuthenticationStatus
        let started = ContinuousClock.now
        defer { PBAuthMetrics.checkTook(ContinuousClock.now - started, path: .portal) }
        do {
            status = try await checker.authenticateAccount(username: name, challenge: challenge, response: response,
                                                           via: [], source: connection.remoteAddress)
        } catch {
            let failure = AuthenticationFailure(local: error)
            logger.info("login refused", metadata: [
                "account": "\(AccountName.recordable(name))", "reason": "\(failure?.typeName ?? "upstream failure")",
                "source": "\(connection.remoteAddress)",
            ])
            // Only the client's guesses are throttled: not a full queue or a lost upstream.
            if let failure, failure != .overloaded, failure != .upstreamUnavailable {
                await throttle?.failed(source: connection.remoteAddress)
            }
            throw PBFailures.unauthorizedLogin()
        }
        throttle?.succeeded(source: connection.remoteAddress)
        logger.info("login", metadata: [
            "account": "\(status.username)", "kind": "\(status.kind.rawValue)",
            "method": "\(status.secretKind)",
            "source": "\(connection.remoteAddress)",
        ])
        if let makeAvatar { return try await makeAvatar(status, mind) }
        switch status.kind {
        case .user:
            return PBAvatarLogin(avatar: UserAvatar(status: status, checker: checker), logout: nil)
        case .broker:
            return PBAvatarLogin(avatar: BrokerAvatar(principal: status.username, checker: checker),
                                 logout: checker.brokerLoggedIn(status.username, on: connection))
        }
    }
}
