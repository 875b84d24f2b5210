import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// pbauth's daemons with stock Twisted 26.10.0 on the other side.
@Suite("Daemons with stock Twisted", .serialized)
struct TwistedInteropTests {
    static let fixtures = BuiltProducts.packageRoot + "/Tests/PBAuthDaemonTests/Fixtures"

    static func python() throws -> String { try BuiltProducts.requireTwistedPython() }

    @Test func aTwistedClientUsesTheMasterAndASubordinate() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "wonderland")
        let edge1 = try cluster.addBroker("edge1")
        let masterPort = try cluster.startMaster().port
        let edgePort = try cluster.startSubordinate(upstreamPort: masterPort, broker: "edge1", tokenFile: edge1.file).port
        let outcome = try ChildProcess.run(try Self.python(), [Self.fixtures + "/twisted_user_client.py", "\(masterPort)", "\(edgePort)", "alice", "wonderland"], timeout: 60)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
        #expect(report["status_keys"] as? [String] == ["cookie", "expires", "kind", "master", "session", "username"])
        #expect(report["master"] as? Bool == true)
        #expect(report["cookie_login"] as? String == "ok")
        #expect(report["whoami_session_matches"] as? Bool == true)
        #expect(report["whoami_has_cookie"] as? Bool == false)
        for key in ["wrong_cookie", "after_logout"] {
            let pair = report[key] as? [Any] ?? []
            #expect(pair.first as? String == "refused", "\(key)")
            #expect(pair.last as? Bool == true, "\(key): failure.check(UnauthorizedLogin)")
        }
    }

    @Test func aTwistedSubordinateChecksWithOurMaster() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "wonderland")
        let broker = try cluster.addBroker("py-edge")
        let masterPort = try cluster.startMaster().port
        let subordinate = try RunningProcess(try Self.python(), [Self.fixtures + "/twisted_subordinate.py", "\(masterPort)", "py-edge", broker.token])
        defer { subordinate.stop() }
        let portLine = try #require(subordinate.waitForLine(timeout: 30) { Int($0) != nil }, "\(subordinate.standardError)")
        let port = try #require(Int(portLine))

        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "wonderland").dictionaryValue?["cookie"]?.stringValue)
        let (connection, avatar) = try await Client.login(port, "alice", cookie)
        let whoami = try #require(try await avatar.callRemote("whoami").dictionaryValue)
        #expect(whoami["username"]?.stringValue == "alice")
        await connection.close()
        let refused = await remoteFailure { _ = try await Client.login(port, "alice", "guess") }
        #expect(refused?.check("twisted.cred.error.UnauthorizedLogin") == true)
    }

    @Test func ourSubordinateInFrontOfATwistedMaster() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let tokenFile = folder.file("edge1.token")
        try Data("py-token\n".utf8).write(to: URL(fileURLWithPath: tokenFile))
        let master = try RunningProcess(try Self.python(), [Self.fixtures + "/twisted_master.py", "edge1", "py-token", "alice", "cookie-of-alice"])
        defer { master.stop() }
        let masterPort = try #require(master.waitForLine(timeout: 30) { Int($0) != nil }.flatMap { Int($0) }, "\(master.standardError)")

        let edge = try RunningProcess(BuiltProducts.executable("pbauth"), [
            "subordinate", "--upstream", "127.0.0.1:\(masterPort)", "--broker", "edge1",
            "--token-file", tokenFile, "--listen", "127.0.0.1:0",
        ])
        defer { edge.stop() }
        let edgePort = try Cluster.listeningPort(of: edge, role: "subordinate")
        #expect(edge.waitForLine(timeout: 20) { $0.contains("upstream connected") } != nil)

        let (connection, avatar) = try await Client.login(edgePort, "alice", "cookie-of-alice")
        #expect(try await avatar.callRemote("whoami").dictionaryValue?["session"]?.stringValue == "s-1")
        await connection.close()
        #expect(master.waitForLine(timeout: 10) { $0 == #"via ["edge1"]"# } != nil)
        let refused = await remoteFailure { _ = try await Client.login(edgePort, "alice", "cookie-of-bob") }
        #expect(refused?.type == "twisted.cred.error.UnauthorizedLogin")
    }
}
