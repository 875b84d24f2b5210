import AccountNames
import PBAuthProtocol
import AccountStore
import Banana
import Logging
import PerspectiveBroker

/// The master's root methods beyond the portal: `authenticate(username, password)`
/// (protocol.md section 2), accepted only over TLS or from a loopback address
/// unless the configuration allows otherwise.
final class MasterRootMethods: PBReferenceable {
    private let checker: MasterChecker
    private let allowRemote: Bool
    private let throttle: LoginThrottle?
    private let logger: Logger

    init(checker: MasterChecker, allowRemote: Bool, throttle: LoginThrottle? = nil, logger: Logger) {
        self.checker = checker
        self.allowRemote = allowRemote
        self.throttle = throttle
        self.logger = logger
    }

    var isAvatar: Bool { false }

    func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext) async throws -> JellyValue {
        guard method == "authenticate" else { throw PBCallError.noSuchMethod(method) }
        let arguments = Arguments(method: method, positional: arguments, keywords: keywords)
        try arguments.expect(2...2)
        let username = try arguments.text(0, "username")
        let password = try arguments.bytes(1, "password", limit: AccountStore.maximumPasswordLength)
        let connection = context.connection
        guard connection.isLoopback || connection.isTLS || allowRemote else {
            logger.info("authenticate refused", metadata: ["reason": "clear password from a non-loopback peer without TLS", "source": "\(connection.remoteAddress)"])
            throw PBFailures.unauthorizedLogin()
        }
        do {
            let status = try await checker.authenticatePassword(username: username, password: password, source: connection.remoteAddress)
            logger.info("login", metadata: ["account": "\(status.username)", "kind": "user", "method": "authenticate", "source": "\(connection.remoteAddress)"])
            throttle?.succeeded(source: connection.remoteAddress)
            return status.jellyValue
        } catch {
            guard let failure = AuthenticationFailure(local: error) else { throw error }
            logger.info("login refused", metadata: ["account": "\(AccountName.recordable(username))", "reason": "\(failure.typeName)", "source": "\(connection.remoteAddress)"])
            if failure != .overloaded { await throttle?.failed(source: connection.remoteAddress) }
            throw PBFailures.unauthorizedLogin()
        }
    }
}
