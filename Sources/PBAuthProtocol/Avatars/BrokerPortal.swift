import AccountNames
import Banana
import Logging
import PerspectiveBroker

/// The PB portal of every pbauth broker (protocol.md section 1): checks a
/// login with this broker's `Checker` and makes the avatar. A refused login
/// always looks the same to the user (plain `UnauthorizedLogin`); the precise
/// reason goes to the log and, at the master, to the audit log.
public struct BrokerPortal: PBPortal {
    /// The root object a pbauth broker serves: the PB portal root over this portal, passing
    /// other methods to `fallback` (the master's `authenticate`).
    public static func root(checker: any Checker, logger: Logger, throttle: LoginThrottle? = nil,
                            fallback: (any PBReferenceable)? = nil) -> PBPortalRoot {
        PBPortalRoot(portal: BrokerPortal(checker: checker, logger: logger, throttle: throttle), fallback: fallback)
    }

    let checker: any Checker
    let logger: Logger
    let throttle: LoginThrottle?

    /// A portal whose logins `checker` decides; with a `throttle`, failed logins from one
    /// source are answered ever later.
    public init(checker: any Checker, logger: Logger, throttle: LoginThrottle? = nil) {
        self.checker = checker
        self.logger = logger
        self.throttle = throttle
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
        do {
            status = try await checker.authenticateAccount(username: name, challenge: challenge, response: response,
                                                           via: [], source: connection.remoteAddress)
        } catch let error where AuthenticationFailure(local: error) != nil {
            let failure = AuthenticationFailure(local: error)!
            logger.info("login refused", metadata: ["account": "\(AccountName.recordable(name))", "reason": "\(failure.typeName)", "source": "\(connection.remoteAddress)"])
            // A full queue or a lost upstream is not the client's guess: it is not throttled.
            if failure != .overloaded, failure != .upstreamUnavailable { await throttle?.failed(source: connection.remoteAddress) }
            throw PBFailures.unauthorizedLogin()
        } catch {
            logger.info("login refused", metadata: ["account": "\(AccountName.recordable(name))", "reason": "upstream failure", "source": "\(connection.remoteAddress)"])
            throw PBFailures.unauthorizedLogin()
        }
        throttle?.succeeded(source: connection.remoteAddress)
        logger.info("login", metadata: [
            "account": "\(status.username)", "kind": "\(status.kind.rawValue)",
            "method": "\(status.kind == .broker ? "token" : status.master ? "password" : "cookie")",
            "source": "\(connection.remoteAddress)",
        ])
        switch status.kind {
        case .user:
            return PBAvatarLogin(avatar: UserAvatar(status: status, checker: checker), logout: nil)
        case .broker:
            return PBAvatarLogin(avatar: BrokerAvatar(principal: status.username, checker: checker), logout: nil)
        }
    }
}

/// The root object of a pbauth broker for `checker`: the standard PB portal whose logins
/// `checker` decides, serving user avatars and broker avatars (protocol.md sections 1, 3
/// and 4). What a subordinate serves; a Swift application broker can serve it too.
public func brokerRoot(checker: any Checker, logger: Logger) -> any PBReferenceable {
    BrokerPortal.root(checker: checker, logger: logger)
}
