import Banana
import Synchronization

/// The standard PB portal root, what a Twisted `PBServerFactory(portal)` serves as `root`.
///
/// `login(username)` answers `(challenge, challenger)` with a fresh 16-byte challenge from
/// the system's cryptographically secure generator; `challenger.respond(response, mind)`
/// asks the portal and answers the avatar by reference, or the portal's failure.
/// Methods it does not know go to `fallback` (for example a master's `authenticate`);
/// without a fallback, `loginAnonymous` fails with UnhandledCredentials as on a Twisted portal
/// without an anonymous checker.
public final class PBPortalRoot: PBReferenceable {
    /// The longest username `login` accepts: a longer one is refused (UnauthorizedLogin)
    /// before anything is kept for it.
    public static let maxUsernameBytes = 64

    private let portal: any PBPortal
    private let fallback: (any PBReferenceable)?

    /// Creates a root that logs in through `portal` and passes other methods to `fallback`.
    public init(portal: any PBPortal, fallback: (any PBReferenceable)? = nil) {
        self.portal = portal
        self.fallback = fallback
    }

    /// Serves `login`; everything else goes to the fallback.
    public func remoteMessage(
        _ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext
    ) async throws -> JellyValue {
        guard method == "login" else {
            guard let fallback else {
                if method == "loginAnonymous" { throw PBFailures.unhandledCredentials("anonymous login is not supported") }
                throw PBCallError.noSuchMethod(method)
            }
            return try await fallback.remoteMessage(method, arguments: arguments, keywords: keywords, context: context)
        }
        return try login(arguments: arguments, keywords: keywords)
    }

    /// `login` waits for nothing: it is answered at once, with the version message's write
    /// when both arrive together. Other methods are the fallback's to answer.
    public func remoteMessageAtOnce(
        _ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext
    ) -> Result<JellyValue, any Error>? {
        guard method == "login" else {
            return fallback?.remoteMessageAtOnce(method, arguments: arguments, keywords: keywords, context: context)
        }
        return Result { try login(arguments: arguments, keywords: keywords) }
    }

    private func login(arguments: [JellyValue], keywords: JellyDictionary) throws -> JellyValue {
        guard arguments.count == 1, keywords.entries.isEmpty, let username = arguments[0].bytesValue else {
            throw PBCallError.badArguments("login takes exactly one username (bytes or str)")
        }
        guard username.count <= Self.maxUsernameBytes else {
            throw PBFailures.unauthorizedLogin()
        }
        let challenge = PBLoginChallenge.makeChallenge()
        let challenger = PBLoginChallenger(portal: portal, username: username, challenge: challenge)
        return .tuple([.bytes(challenge), .object(challenger)])
    }
}

/// The per-attempt object a client answers the challenge to (`respond(response, mind)`).
final class PBLoginChallenger: PBReferenceable {
    private let portal: any PBPortal
    private let username: [UInt8]
    private let challenge: [UInt8]
    /// One response per challenge: a second attempt must ask for a new challenge.
    private let answered = Mutex(false)

    init(portal: any PBPortal, username: [UInt8], challenge: [UInt8]) {
        self.portal = portal
        self.username = username
        self.challenge = challenge
    }

    func remoteMessage(
        _ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext
    ) async throws -> JellyValue {
        guard method == "respond" else { throw PBCallError.noSuchMethod(method) }
        guard (1...2).contains(arguments.count), keywords.entries.isEmpty,
              let response = arguments[0].bytesValue else {
            throw PBCallError.badArguments("respond takes a response (bytes) and an optional mind")
        }
        let firstAttempt = answered.withLock { done in
            defer { done = true }
            return !done
        }
        guard firstAttempt else { throw PBFailures.unauthorizedLogin("challenge already used") }
        let mind = arguments.count == 2 ? arguments[1] : .none
        let login = try await portal.login(
            username: username, challenge: challenge, response: response, mind: mind,
            connection: context.connection)
        if let logout = login.logout {
            context.broker?.attachLogout(logout, to: login.avatar)
        }
        return .object(login.avatar)
    }
}
