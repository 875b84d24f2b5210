import Banana
import Foundation
import PerspectiveBroker
import PBTestSupport
import TestSupport
import Testing

/// A password check that races an admin's change (protocol.md section 4.6): the session
/// starts only if the account is, when the session would start, what the check read
/// before it hashed. No session may be created after the change has committed.
@Suite("Admin changes that race a password check", .serialized)
struct AdminRaceTests {
    /// Password hashes queued ahead of alice's: each costs one scrypt at `scrypt_ln=14`
    /// (tens of milliseconds here), on the master's one password thread, so that alice's check
    /// is still waiting while the admin's change commits.
    static let hashesAhead = 16

    /// The account's count of password attempts that hold a place, from `pbauth account list --json`.
    func failedAttempts(of account: String, _ cluster: Cluster) throws -> Int? {
        let listing = try cluster.admin(["account", "list", "--json", "--database", cluster.database])
        let accounts = try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [[String: Any]]
        return accounts?.first { $0["name"] as? String == account }?["failed_attempts"] as? Int
    }

    @Test(arguments: [
        ["account", "disable", "alice"],
        ["account", "passwd", "alice", "--password-stdin"],
        ["session", "revoke", "alice", "--all"],
    ])
    func noSessionStartsAfterTheChangeCommitted(change: [String]) async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "alice password")
        let port = try cluster.startMaster(extra: ["--set", "scrypt_ln=14", "--set", "password_threads=1"]).port

        // Refusals for an unknown account still spend one configured scrypt each.
        let ahead = (0..<Self.hashesAhead).map { _ in
            Task { _ = try? await Client.authenticate(port, "nobody", "a guess") }
        }
        try await Task.sleep(for: .milliseconds(100))
        let alice = Task { () -> (failure: JellyFailure?, answered: Date) in
            let failure = await remoteFailure { _ = try await Client.authenticate(port, "alice", "alice password") }
            return (failure, Date())
        }
        // Wait until alice's attempt took its place in the count (so her check has read the
        // account) while it waits behind the others: only then does the change race it.
        var began = false
        for _ in 0..<200 where !began {
            began = try failedAttempts(of: "alice", cluster) == 1
            if !began { try await Task.sleep(for: .milliseconds(10)) }
        }
        try #require(began, "alice's check never took its place in the count")
        try cluster.admin(change + ["--database", cluster.database], input: "a new password\n")
        let committed = Date()

        let (failure, answered) = await alice.value
        for task in ahead { await task.value }
        // The change committed before alice's answer, so it must have won.
        #expect(answered > committed, "the test did not race: alice was answered before the change committed")
        #expect(failure?.check("twisted.cred.error.UnauthorizedLogin") == true,
                "a session started after \(change.joined(separator: " ")) committed")
        let live = try cluster.admin(["session", "list", "--database", cluster.database])
        #expect(!live.contains("alice"), "a live session of alice exists after the change:\n\(live)")
    }
}
