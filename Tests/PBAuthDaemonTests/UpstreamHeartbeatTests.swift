import Banana
import Foundation
import PerspectiveBroker
import TestSupport
import Testing

/// A master that closes idle logged-in connections, and subordinates whose heartbeat keeps
/// (or, when too slow, does not keep) their upstream link open.
@Suite("Upstream heartbeat", .serialized)
struct UpstreamHeartbeatTests {
    @Test func aHeartbeatKeepsTheIdleUpstreamLinkOpenAndWithoutOneItIsClosed() async throws {
        let cluster = try Cluster()
        let masterPort = try cluster.startMaster(extra: ["--set", "logged_in_idle_timeout=2"]).port
        try cluster.addUser("alice", password: "correct horse")
        let beating = try cluster.addBroker("beating")
        let silent = try cluster.addBroker("silent")
        let (beatingProcess, beatingPort) = try cluster.startSubordinate(
            upstreamPort: masterPort, broker: "beating", tokenFile: beating.file, extra: ["--set", "upstream_heartbeat=1"])
        let (silentProcess, _) = try cluster.startSubordinate(
            upstreamPort: masterPort, broker: "silent", tokenFile: silent.file, extra: ["--set", "upstream_heartbeat=600"])
        // Idle for more than twice the master's idle timeout.
        try await Task.sleep(for: .seconds(5))
        #expect(!beatingProcess.standardError.contains { $0.contains("upstream connection lost") },
                "the link with a heartbeat was closed as idle")
        #expect(silentProcess.standardError.contains { $0.contains("upstream connection lost") },
                "the link without a heartbeat was not closed: the master's idle timeout did not work")
        // The kept link still carries logins.
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "correct horse").dictionaryValue?["cookie"]?.stringValue)
        let (connection, avatar) = try await Client.login(beatingPort, "alice", cookie)
        #expect(try await avatar.callRemote("whoami").dictionaryValue?["username"]?.stringValue == "alice")
        await connection.close()
    }
}
