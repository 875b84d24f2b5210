import AccountNames
import Banana
import PBAuthProtocol
import PerspectiveBroker

/// The accounts the fuzz checker knows, with the secret each one's PB response is checked
/// against (MD5(MD5(secret) || challenge), `PBLoginChallenge`).
enum FuzzAccounts {
    struct Account {
        let secret: String
        let status: AuthenticationStatus
    }

    /// `alice` logs in with her password (a master login with a cookie), `carol` with a
    /// cookie (no cookie to hand out), `edge1` is a broker principal.
    static let all: [String: Account] = [
        "alice": Account(secret: "sesame", status: AuthenticationStatus(
            username: "alice", kind: .user, master: true, session: "s-alice", expires: 2_000_000_000, cookie: "cookie-alice")),
        "carol": Account(secret: "cookie-carol", status: AuthenticationStatus(
            username: "carol", kind: .user, master: false, session: "s-carol", expires: 2_000_000_000)),
        "edge1": Account(secret: "token-edge1", status: AuthenticationStatus(
            username: "edge1", kind: .broker, master: false, session: "", expires: 0)),
    ]

    /// Names that fail in particular ways (to reach every refusal path).
    static let refusals: [String: AuthenticationFailure] = [
        "disabled": .accountDisabled, "locked": .lockedOut, "busy": .overloaded,
        "far": .hopLimitExceeded, "down": .upstreamUnavailable, "nocookie": .noAuthenticationCookie,
    ]

    /// A name whose checks fail with an error that is not an `AuthenticationFailure`.
    static let brokenName = "broken"
}

/// An error a checker should never leak to the peer.
struct FuzzCheckerInternalError: Error {}

/// Checker calls wait here while the fuzz input holds them (to keep calls in flight across
/// reads, time steps and closes). Confined to the fuzzing thread, like the embedded loop.
final class CheckGate: @unchecked Sendable {
    private(set) var isHeld = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// Checker calls started and not finished.
    private(set) var running = 0

    func hold() { isHeld = true }

    /// Opens the gate and lets every waiting call go on (they resume on the channel's loop).
    func release() {
        isHeld = false
        let resumed = waiting
        waiting.removeAll()
        for continuation in resumed { continuation.resume() }
    }

    func enter() async {
        running += 1
        guard isHeld else { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() { running -= 1 }
}

/// The fuzz target's `Checker`: a fixed set of accounts, every answer deterministic; also
/// checks what the portal and the avatars pass it (the broker's side of the contract).
struct FuzzChecker: Checker {
    let gate: CheckGate
    /// Where the connection comes from, as the broker must report it.
    let source: String

    func authenticateAccount(username: String, challenge: [UInt8], response: [UInt8], via: [String], source: String) async throws -> AuthenticationStatus {
        await gate.enter()
        defer { gate.leave() }
        precondition(source == self.source, "the checker was given the wrong source: \(source)")
        precondition(via.count < AccountName.maximumBrokerPathLength, "the checker was given a 'via' of \(via.count) names")
        precondition(via.allSatisfy(AccountName.isValid), "the checker was given an invalid 'via'")
        if via.isEmpty {
            // A login at the portal: the username it took from the peer.
            precondition(username.utf8.count <= AccountName.maximumLength, "the portal passed a username of \(username.utf8.count) bytes")
        } else {
            // A broker avatar's call: the path ends with the principal that called.
            precondition(via.last == "edge1", "the checker was given a path not ending with the caller: \(via)")
        }
        if username == FuzzAccounts.brokenName { throw FuzzCheckerInternalError() }
        if let failure = FuzzAccounts.refusals[username] { throw failure }
        guard let account = FuzzAccounts.all[username] else { throw AuthenticationFailure.noSuchAccount }
        let expected = PBLoginChallenge.response(secret: Array(account.secret.utf8), challenge: challenge)
        guard PBLoginChallenge.constantTimeEquals(response, expected) else {
            throw account.status.master ? AuthenticationFailure.invalidPassword : AuthenticationFailure.authenticationCookieMismatch
        }
        return account.status
    }

    func getAccount(username: String, via: [String]) async throws -> JellyValue {
        await gate.enter()
        defer { gate.leave() }
        return try facts(username, [
            ("username", .string(username)), ("disabled", .bool(false)),
            ("created", .int(1_700_000_000)), ("last_login", .none),
        ])
    }

    func accountStatus(username: String, via: [String]) async throws -> JellyValue {
        await gate.enter()
        defer { gate.leave() }
        return try facts(username, [
            ("username", .string(username)), ("disabled", .bool(false)),
            ("locked", .bool(false)), ("live_sessions", .int(1)),
        ])
    }

    func revokeSession(username: String, session: String, via: [String]) async throws {
        await gate.enter()
        defer { gate.leave() }
        if username == FuzzAccounts.brokenName { throw FuzzCheckerInternalError() }
        if let failure = FuzzAccounts.refusals[username] { throw failure }
        guard let account = FuzzAccounts.all[username], account.status.session == session else {
            throw AuthenticationFailure.noSuchAccount
        }
    }

    private func facts(_ username: String, _ entries: [(String, JellyValue)]) throws -> JellyValue {
        if username == FuzzAccounts.brokenName { throw FuzzCheckerInternalError() }
        if let failure = FuzzAccounts.refusals[username] { throw failure }
        guard FuzzAccounts.all[username] != nil else { throw AuthenticationFailure.noSuchAccount }
        return .dictionary(JellyDictionary(entries.map { (key: JellyValue.string($0.0), value: $0.1) }))
    }
}
