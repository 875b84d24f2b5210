import AccountStore
import Foundation
import PBAuthProtocol
import PerspectiveBroker
import TestSupport
import Testing

@testable import PBAuthMaster

/// The cookie check answered at once from what the last check read: only while nothing
/// committed since, whoever committed (here, a second connection, as an admin's `pbauth` is).
@Suite("cookie checks answered at once")
struct CookieCheckCacheTests {
    /// A master with user alice, one session of hers, and a challenge-response of its cookie.
    struct Fixture {
        let folder: TemporaryDirectory
        let checker: MasterChecker
        let configuration: MasterConfiguration
        let status: AuthenticationStatus
        let challenge: [UInt8]
        let response: [UInt8]

        init() async throws {
            folder = try TemporaryDirectory()
            (checker, configuration) = try TestMaster.make(in: folder)
            status = try await checker.authenticatePassword(username: "alice", password: Array("pw".utf8), source: "127.0.0.1:1")
            challenge = PBLoginChallenge.makeChallenge()
            response = PBLoginChallenge.response(secret: Array((status.cookie ?? "").utf8), challenge: challenge)
        }

        func atOnce() -> AuthenticationStatus? {
            checker.authenticateAccountAtOnce(username: "alice", challenge: challenge, response: response, via: [], source: "127.0.0.1:2")
        }

        func check() async throws -> AuthenticationStatus {
            try await checker.authenticateAccount(username: "alice", challenge: challenge, response: response, via: [], source: "127.0.0.1:2")
        }

        /// Another connection to the same file, as the admin command opens.
        func admin<Result>(_ body: (AccountStore) throws -> Result) throws -> Result {
            let store = try AccountStore.open(databasePath: configuration.database, keyPath: configuration.resolvedKeyFile,
                                              configuration: configuration.storeConfiguration)
            defer { store.close() }
            return try body(store)
        }

        func close() async {
            await checker.close()
            folder.remove()
        }
    }

    @Test func aCheckIsAnsweredAtOnceOnlyAfterACheckReadTheSessions() async throws {
        let fixture = try await Fixture()
        // A password login started the session: nothing was read for a cookie check yet.
        #expect(fixture.atOnce() == nil)
        let full = try await fixture.check()
        let quick = try #require(fixture.atOnce())
        #expect(quick.session == full.session && quick.session == fixture.status.session)
        #expect(quick.username == "alice" && quick.kind == .user && !quick.master && quick.cookie == nil)
        // A wrong response is never answered at once: it goes to the full check.
        #expect(fixture.checker.authenticateAccountAtOnce(username: "alice", challenge: fixture.challenge,
                                                          response: Array(repeating: 0, count: 16), via: [], source: "x") == nil)
        #expect(fixture.checker.authenticateAccountAtOnce(username: "bob", challenge: fixture.challenge,
                                                          response: fixture.response, via: [], source: "x") == nil)
        await fixture.close()
    }

    enum AdminChange: String, CaseIterable, Sendable {
        case revokeOne, revokeAll, newPassword, disable, remove
    }

    @Test(arguments: AdminChange.allCases)
    func anotherConnectionsCommitEndsTheAnswersAtOnce(_ change: AdminChange) async throws {
        let fixture = try await Fixture()
        _ = try await fixture.check()
        #expect(fixture.atOnce() != nil)
        try fixture.admin { store in
            switch change {
            case .revokeOne: try store.revokeSession(id: fixture.status.session)
            case .revokeAll: _ = try store.revokeAllSessions(accountID: try #require(try store.account(named: "alice")).id)
            case .disable: try store.setDisabled(true, name: "alice")
            case .remove: try store.removeAccount(name: "alice")
            case .newPassword: try store.setPassword(name: "alice", password: Array("new".utf8))
            }
        }
        #expect(fixture.atOnce() == nil)
        let expected: AuthenticationFailure = switch change {
        case .revokeOne, .revokeAll, .newPassword: .invalidPassword  // no live session left (a new password revokes them all)
        case .disable: .accountDisabled
        case .remove: .noSuchAccount
        }
        await #expect(throws: expected) { try await fixture.check() }
        #expect(fixture.atOnce() == nil)
        await fixture.close()
    }

    @Test func theActivityFlushKeepsTheAnswersAtOnceAndAuditsThem() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.check()
        for _ in 0..<3 { #expect(fixture.atOnce() != nil) }
        let before = try #require(fixture.checker.pool.changes.stamp())
        try await fixture.checker.flush()
        // The flush committed (last_seen and the audit rows), and what was read still stands.
        #expect(fixture.checker.pool.changes.stamp() != before)
        #expect(fixture.atOnce() != nil)
        try await fixture.checker.flush()
        let audit = try fixture.admin { try $0.auditEntries() }
        let cookieLogins = audit.filter { $0.action == "login" && $0.outcome == "success" && $0.reason == "cookie" }
        #expect(cookieLogins.count == 5)
        #expect(cookieLogins.allSatisfy { $0.source == "127.0.0.1:2" && $0.account == "alice" })
        await fixture.close()
    }

    @Test func aNewSessionIsReadBeforeItIsAnsweredAtOnce() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.check()
        let second = try await fixture.checker.authenticatePassword(username: "alice", password: Array("pw".utf8), source: "127.0.0.1:1")
        let response = PBLoginChallenge.response(secret: Array((second.cookie ?? "").utf8), challenge: fixture.challenge)
        // The session start committed: nothing read before it is trusted, not even for the first cookie.
        #expect(fixture.atOnce() == nil)
        let checked = try await fixture.checker.authenticateAccount(username: "alice", challenge: fixture.challenge, response: response,
                                                                     via: [], source: "127.0.0.1:2")
        #expect(checked.session == second.session)
        let quick = fixture.checker.authenticateAccountAtOnce(username: "alice", challenge: fixture.challenge, response: response,
                                                              via: [], source: "127.0.0.1:2")
        #expect(quick?.session == second.session)
        #expect(fixture.atOnce()?.session == fixture.status.session)
        await fixture.close()
    }
}
