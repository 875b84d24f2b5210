import PBAuthProtocol
import Banana
import PBAuthMetrics
import PerspectiveBroker

/// A subordinate's checker: every question goes to the upstream's broker
/// avatar, one call per question; nothing is kept beyond that call.
final class UpstreamChecker: Checker {
    private let link: UpstreamLink
    private let principal: String
    private let hopLimit: Int
    private let timeout: Duration

    init(link: UpstreamLink, principal: String, hopLimit: Int, timeout: Duration) {
        self.link = link
        self.principal = principal
        self.hopLimit = hopLimit
        self.timeout = timeout
    }

    func authenticateAccount(username: String, challenge: [UInt8], response: [UInt8], via: [String], source: String) async throws -> AuthenticationStatus {
        let method: PBAuthMetrics.LoginMethod = via.isEmpty ? .login : .authenticateAccount
        do {
            let answer = try await call("authenticate_account", [.string(username), .bytes(challenge), .bytes(response)],
                                        keywords: try forwarded(via, always: true))
            guard let status = AuthenticationStatus(jellyValue: answer) else { throw AuthenticationFailure.upstreamUnavailable }
            PBAuthMetrics.loginSucceeded(method, reason: status.secretKind)
            return status
        } catch {
            PBAuthMetrics.loginFailed(method, typeName: AuthenticationFailure(local: error)?.typeName)
            throw error
        }
    }

    func getAccount(username: String, via: [String]) async throws -> JellyValue {
        try await call("get_account", [.string(username)], keywords: try forwarded(via))
    }

    func accountStatus(username: String, via: [String]) async throws -> JellyValue {
        try await call("account_status", [.string(username)], keywords: try forwarded(via))
    }

    func revokeSession(username: String, session: String, via: [String]) async throws {
        _ = try await call("revoke_session", [.string(username), .string(session)], keywords: try forwarded(via))
    }

    /// The `via` keyword of a forwarded call: the path so far with this subordinate's
    /// principal appended, after the loop guard and the hop limit (protocol.md section 4.2).
    /// Unless `always`, an empty path (a user's own logout here) is forwarded as no `via`,
    /// which means the same to the upstream and is what an upstream of the first contract expects.
    private func forwarded(_ via: [String], always: Bool = false) throws -> JellyDictionary {
        guard always || !via.isEmpty else { return JellyDictionary() }
        guard !via.contains(principal), via.count + 1 <= hopLimit else { throw AuthenticationFailure.hopLimitExceeded }
        return .stringKeyed([("via", .list((via + [principal]).map { .string($0) }))])
    }

    /// One call to the upstream; its precise failures pass through, anything else is `UpstreamUnavailable`.
    private func call(_ method: String, _ arguments: [JellyValue], keywords: JellyDictionary = JellyDictionary()) async throws -> JellyValue {
        let avatar = try link.avatar()
        do {
            return try await avatar.callRemote(method, arguments: arguments, keywords: keywords, timeout: timeout)
        } catch PBCallError.remoteFailure(let failure) {
            // The precise pbauth failures keep their meaning; any other failure passes through unchanged.
            if let known = AuthenticationFailure(failure) { throw known }
            throw failure
        } catch PBCallError.tooManyPendingCalls {
            throw AuthenticationFailure.overloaded
        } catch {
            throw AuthenticationFailure.upstreamUnavailable
        }
    }
}
