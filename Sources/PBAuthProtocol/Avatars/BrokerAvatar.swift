import AccountNames
import Banana
import PBAuthMetrics
import PerspectiveBroker

/// What a broker principal gets from its login: the checker service of
/// protocol.md section 4, answered by this broker's own `Checker` (the
/// database at the master, the upstream at a subordinate).
final class BrokerAvatar: PBReferenceable {
    /// The principal that logged in (the caller of every method here).
    private let principal: String
    private let checker: any Checker

    init(principal: String, checker: any Checker) {
        self.principal = principal
        self.checker = checker
    }

    var isAvatar: Bool { true }

    /// Answers a call (`answer`), counted by method and outcome; checks are timed.
    func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext) async throws -> JellyValue {
        let started = ContinuousClock.now
        defer { if method == "authenticate_account" { PBAuthMetrics.checkTook(ContinuousClock.now - started, path: .broker) } }
        do {
            let answer = try await self.answer(method, arguments: arguments, keywords: keywords, context: context)
            PBAuthMetrics.brokerCall(method, .success)
            return answer
        } catch let failure as JellyFailure where AuthenticationFailure(failure) != nil {
            PBAuthMetrics.brokerCall(method, .failure)
            throw failure
        } catch {
            PBAuthMetrics.brokerCall(method, .error)
            throw error
        }
    }

    /// A cookie check the checker can answer at once (see `Checker.authenticateAccountAtOnce`):
    /// no task, no thread hop. Anything else, a malformed call included, goes to `remoteMessage`.
    func remoteMessageAtOnce(_ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext) -> Result<JellyValue, any Error>? {
        guard method == "authenticate_account" else { return nil }
        let started = ContinuousClock.now
        guard let check = try? check(Arguments(method: method, positional: arguments, keywords: keywords)),
              let status = checker.authenticateAccountAtOnce(username: check.username, challenge: check.challenge, response: check.response,
                                                             via: check.path, source: context.connection.remoteAddress) else { return nil }
        PBAuthMetrics.authenticateAccountAnswered()
        PBAuthMetrics.checkTook(ContinuousClock.now - started, path: .broker)
        return .success(status.jellyValue)
    }

    /// The one keyword of the checker's methods.
    private static let via: Set<String> = ["via"]

    /// The arguments of `authenticate_account(username, challenge, response, via=[])`, the path with the caller.
    private func check(_ arguments: Arguments) throws -> (username: String, challenge: [UInt8], response: [UInt8], path: [String]) {
        try arguments.expect(3...4, keywords: Self.via)
        return (try arguments.text(0, "username"), try arguments.bytes(1, "challenge"), try arguments.bytes(2, "response"),
                try path(arguments, at: 3))
    }

    private func answer(_ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext) async throws -> JellyValue {
        let arguments = Arguments(method: method, positional: arguments, keywords: keywords)
        do {
            switch method {
            case "authenticate_account":
                let check = try check(arguments)
                let status = try await checker.authenticateAccount(username: check.username, challenge: check.challenge,
                                                                   response: check.response, via: check.path,
                                                                   source: context.connection.remoteAddress)
                return status.jellyValue
            case "get_account":
                try arguments.expect(1...2, keywords: Self.via)
                return try await checker.getAccount(username: try arguments.text(0, "username"), via: try path(arguments, at: 1))
            case "account_status":
                try arguments.expect(1...2, keywords: Self.via)
                return try await checker.accountStatus(username: try arguments.text(0, "username"), via: try path(arguments, at: 1))
            case "revoke_session":
                try arguments.expect(2...3, keywords: Self.via)
                try await checker.revokeSession(username: try arguments.text(0, "username"), session: try arguments.text(1, "session"),
                                                via: try path(arguments, at: 2))
                return .none
            case "ping":
                // The heartbeat of a subordinate's upstream link: it keeps an idle link open,
                // and fails once the caller may no longer call.
                try arguments.expect(0...0)
                try await checker.checkBrokerPath([principal])
                return .none
            default:
                throw PBCallError.noSuchMethod(method)
            }
        } catch {
            if let failure = AuthenticationFailure(local: error) { throw failure.jellyFailure }
            throw error
        }
    }

    /// The call's path (protocol.md section 4.2): the optional `via` argument at `index` (or
    /// keyword), the names the call already passed through, followed by the caller. A pbauth
    /// subordinate already appended its own name; a stock broker that sent no `via` did not.
    private func path(_ arguments: Arguments, at index: Int) throws -> [String] {
        var via = try arguments.textList(index, keyword: "via")
        guard via.allSatisfy(AccountName.isValid) else {
            throw PBCallError.badArguments("\(arguments.method)(): 'via' must name broker principals")
        }
        // The store keeps at most this many names of a session's path.
        guard via.count < AccountName.maximumBrokerPathLength else { throw AuthenticationFailure.hopLimitExceeded }
        if via.last != principal { via.append(principal) }
        return via
    }
}
