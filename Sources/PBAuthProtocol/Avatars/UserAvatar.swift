import Banana
import PerspectiveBroker
import Synchronization

/// What a user gets from a login at any broker (protocol.md section 3).
final class UserAvatar: PBReferenceable {
    private let status: AuthenticationStatus
    private let checker: any Checker
    private let loggedOut = Mutex(false)

    init(status: AuthenticationStatus, checker: any Checker) {
        self.status = status
        self.checker = checker
    }

    var isAvatar: Bool { true }

    /// `whoami` and `authentication_cookie` read only the status: answered at once.
    func remoteMessageAtOnce(_ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext) -> Result<JellyValue, any Error>? {
        guard method == "whoami" || method == "authentication_cookie" else { return nil }
        return Result { try answerFromStatus(method, Arguments(method: method, positional: arguments, keywords: keywords)) }
    }

    private func answerFromStatus(_ method: String, _ arguments: Arguments) throws -> JellyValue {
        try arguments.expect(0...0)
        if method == "whoami" { return status.withoutCookie.jellyValue }
        guard status.master, let cookie = status.cookie else {
            throw AuthenticationFailure.noAuthenticationCookie.jellyFailure
        }
        return .string(cookie)
    }

    func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext) async throws -> JellyValue {
        let arguments = Arguments(method: method, positional: arguments, keywords: keywords)
        switch method {
        case "whoami", "authentication_cookie":
            return try answerFromStatus(method, arguments)
        case "logout":
            try arguments.expect(0...0)
            let first = loggedOut.withLock { done in
                defer { done = true }
                return !done
            }
            if first {
                do {
                    try await checker.revokeSession(username: status.username, session: status.session, via: [])
                } catch {
                    // Allow a retry when the revocation did not reach the master.
                    loggedOut.withLock { $0 = false }
                    throw AuthenticationFailure(local: error)?.jellyFailure ?? error
                }
            }
            return .none
        default:
            throw PBCallError.noSuchMethod(method)
        }
    }
}
