import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// Failed logins from one source are answered ever later, and logged as throttled.
@Suite("Per-source throttling", .serialized)
struct ThrottleTests {
    @Test(arguments: [false, true])
    func failedLoginsFromOneSourceAreDelayedAndLogged(atSubordinate: Bool) async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "wonderland")
        let throttle = ["--set", "throttle_free_failures=2", "--set", "throttle_base_ms=400", "--set", "throttle_max_ms=800"]
        let (master, masterPort) = try cluster.startMaster(extra: throttle)
        var process = master
        var port = masterPort
        if atSubordinate {
            let edge = try cluster.addBroker("edge1")
            (process, port) = try cluster.startSubordinate(upstreamPort: masterPort, broker: "edge1", tokenFile: edge.file, extra: throttle)
        }
        let clock = ContinuousClock()
        var times: [Duration] = []
        for _ in 0..<4 {
            let started = clock.now
            let refused = await remoteFailure { try await Client.login(port, "alice", "not the cookie") }
            #expect(refused?.type == "twisted.cred.error.UnauthorizedLogin")
            times.append(clock.now - started)
        }
        // The third and fourth refusals waited at least 400 and 800 ms (lower bounds only).
        #expect(times[2] >= .milliseconds(400) && times[3] >= .milliseconds(800), "\(times)")
        #expect(process.waitForLine(timeout: 10) { $0.contains("throttled a failed login") && $0.contains("source=127.0.0.1") } != nil)
        // A right secret is not delayed away: it logs in.
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "wonderland").dictionaryValue?["cookie"]?.stringValue)
        let (connection, _) = try await Client.login(port, "alice", cookie)
        await connection.close()
    }
}
