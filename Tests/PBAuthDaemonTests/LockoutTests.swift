import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// Only what can be guessed is counted, concurrency gets no more guesses checked, brokers
/// are never locked out, and a lock ends cleanly (protocol.md, "Lockout").
@Suite("Lockout", .serialized)
struct LockoutTests {
    let cluster: Cluster
    let masterPort: Int
    let edgeToken: String

    init() throws {
        cluster = try Cluster()
        try cluster.addUser("dave", password: "dave password")
        edgeToken = try cluster.addBroker("edge1").token
        masterPort = try cluster.startMaster(extra: ["--set", "lockout_threshold=10", "--set", "lockout_seconds=3",
                                                     "--set", "password_queue=200"]).port
    }

    /// The audit records of `account` whose action is `action`, once they are written.
    func auditReasons(_ account: String, action: String, atLeast count: Int) async throws -> [String] {
        var reasons: [String] = []
        for _ in 0..<100 {
            let json = try cluster.admin(["audit", "--json", "--limit", "1000", "--database", cluster.database])
            let entries = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]) ?? []
            reasons = entries.filter { $0["account"] as? String == account && $0["action"] as? String == action }
                .compactMap { $0["reason"] as? String }
            if reasons.count >= count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return reasons
    }

    @Test func a100ConcurrentGuessesGetAtMostTheThresholdCheckedAndTheLockEnds() async throws {
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<100 {
                group.addTask {
                    (try? await Client.authenticate(self.masterPort, "dave", "guess \(index)")) != nil
                }
            }
            var accepted = 0
            for await ok in group where ok { accepted += 1 }
            return accepted
        }
        #expect(outcomes == 0)
        // The first 10 failures from one source get a row each; the rest are counted in summary
        // rows per reason, written when the master stops (or the minute ends): checked at the end.
        let rows = try await auditReasons("dave", action: "authenticate", atLeast: 10)
        #expect(rows.count == 10)

        // The right password is refused while the lock lasts, and accepted once it has ended.
        #expect(await remoteFailure { _ = try await Client.authenticate(masterPort, "dave", "dave password") } != nil)
        try await Task.sleep(for: .seconds(4))
        let status = try await Client.authenticate(masterPort, "dave", "dave password")
        #expect(status.dictionaryValue?["username"]?.stringValue == "dave")

        #expect(cluster.processes.first?.stop() == 0)
        var reasons = rows
        let json = try cluster.admin(["audit", "--json", "--limit", "1000", "--database", cluster.database])
        let entries = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]) ?? []
        for summary in entries where summary["action"] as? String == "login.failures_coalesced" {
            // "N further failed logins in 60 s (pbauth.Reason)"
            guard let text = summary["reason"] as? String, let count = Int(text.prefix { $0.isNumber }),
                  let open = text.lastIndex(of: "(") else { continue }
            reasons += Array(repeating: String(text[text.index(after: open)...].dropLast()), count: count)
        }
        // The 100 guesses, and the right password refused while locked (a LockedOut too).
        #expect(reasons.count >= 100)
        let checked = reasons.filter { $0 == "pbauth.InvalidPassword" }.count
        #expect(checked <= 10, "\(checked) wrong guesses were checked with a threshold of 10")
        #expect(reasons.filter { $0 == "pbauth.LockedOut" }.count >= 90)
    }

    @Test func wrongTokensNeverLockABrokerPrincipal() async throws {
        for _ in 0..<15 {
            let refused = await remoteFailure { _ = try await Client.login(masterPort, "edge1", "not the token") }
            #expect(refused?.type == "twisted.cred.error.UnauthorizedLogin")
        }
        let (connection, avatar) = try await Client.login(masterPort, "edge1", edgeToken)
        let status = try await avatar.callRemote("account_status", .string("edge1"))
        #expect(status.dictionaryValue?["locked"]?.boolValue == false)
        await connection.close()
    }
}
