import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// Absolute and idle session limits, seen from a client. Times are whole Unix
/// seconds, so every wait keeps at least a second of margin.
@Suite("Session lifetime", .serialized)
struct SessionLifetimeTests {
    @Test func aSessionEndsAtItsAbsoluteLifetime() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        // 3 s: with whole seconds, the login right after the password may come up to 2 s
        // before the end (a busy machine running the whole suite once took more than 1).
        let port = try cluster.startMaster(extra: ["--set", "session_lifetime=3"]).port
        let cookie = try #require(try await Client.authenticate(port, "alice", "pw").dictionaryValue?["cookie"]?.stringValue)
        let (connection, _) = try await Client.login(port, "alice", cookie)
        await connection.close()
        try await Task.sleep(for: .milliseconds(4_500))
        #expect(await remoteFailure { _ = try await Client.login(port, "alice", cookie) }?.check("twisted.cred.error.UnauthorizedLogin") == true)
    }

    @Test func aSessionInUseOutlivesTheIdleLimitAndEndsWhenLeftAlone() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        let edge1 = try cluster.addBroker("edge1")
        let masterPort = try cluster.startMaster(extra: ["--set", "session_idle_limit=3"]).port
        let edgePort = try cluster.startSubordinate(upstreamPort: masterPort, broker: "edge1", tokenFile: edge1.file).port
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "pw").dictionaryValue?["cookie"]?.stringValue)
        // Used every second for five seconds: longer than the idle limit, never idle that long.
        for _ in 0..<5 {
            try await Task.sleep(for: .seconds(1))
            let (connection, _) = try await Client.login(edgePort, "alice", cookie)
            await connection.close()
        }
        // The uses reach the database as coalesced last_seen updates (flushed every 50 ms here):
        // look until the last one is there, at most 10 s.
        var span = 0
        for _ in 0..<200 {
            let listing = try cluster.admin(["session", "list", "alice", "--json", "--database", cluster.database])
            #expect(!listing.contains(cookie))
            let sessions = try #require(try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [[String: Any]])
            let session = try #require(sessions.first)
            let created = try #require(session["created"] as? Int), lastSeen = try #require(session["last_seen"] as? Int)
            span = lastSeen - created
            if span >= 4 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(span >= 4)

        try await Task.sleep(for: .milliseconds(4_500))
        #expect(await remoteFailure { _ = try await Client.login(edgePort, "alice", cookie) }?.check("twisted.cred.error.UnauthorizedLogin") == true)
    }
}
