import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// Starting, stopping and losing daemons.
@Suite("Daemon lifecycle", .serialized)
struct DaemonLifecycleTests {
    @Test func theSubordinateServesAgainWhenItsUpstreamComesBack() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        let edge1 = try cluster.addBroker("edge1")
        let edge2 = try cluster.addBroker("edge2")
        var (master, masterPort) = try cluster.startMaster()
        let (edge, edgePort) = try cluster.startSubordinate(upstreamPort: masterPort, broker: "edge1", tokenFile: edge1.file)
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "pw").dictionaryValue?["cookie"]?.stringValue)
        let (brokerConnection, broker) = try await Client.login(edgePort, "edge2", edge2.token)
        defer { Task { await brokerConnection.close() } }

        #expect(master.stop() == 0)
        // Logins are refused as usual, broker calls fail with UpstreamUnavailable.
        let refused = await remoteFailure { _ = try await Client.login(edgePort, "alice", cookie) }
        #expect(refused?.type == "twisted.cred.error.UnauthorizedLogin")
        let unavailable = await remoteFailure { _ = try await broker.callRemote("get_account", .string("alice")) }
        #expect(unavailable?.type == "pbauth.UpstreamUnavailable")

        (master, _) = try cluster.startMaster(port: masterPort)
        let reconnected = edge.waitForLine(timeout: 20) { _ in
            edge.standardError.filter { $0.contains("upstream connected") }.count >= 2
        }
        #expect(reconnected != nil)
        // The session survived the master's restart.
        let (connection, avatar) = try await Client.login(edgePort, "alice", cookie)
        #expect(try await avatar.callRemote("whoami").dictionaryValue?["username"]?.stringValue == "alice")
        await connection.close()
        #expect(try await broker.callRemote("get_account", .string("alice")).dictionaryValue != nil)
    }

    @Test func aChainLongerThanTheHopLimitRefusesLogins() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        let edge1 = try cluster.addBroker("edge1")
        let edge2 = try cluster.addBroker("edge2")
        let masterPort = try cluster.startMaster().port
        let edge1Port = try cluster.startSubordinate(upstreamPort: masterPort, broker: "edge1", tokenFile: edge1.file,
                                                     extra: ["--hop-limit", "1"]).port
        let edge2Port = try cluster.startSubordinate(upstreamPort: edge1Port, broker: "edge2", tokenFile: edge2.file).port
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "pw").dictionaryValue?["cookie"]?.stringValue)
        // One hop is within the limit ...
        let (connection, _) = try await Client.login(edge1Port, "alice", cookie)
        await connection.close()
        // ... two are not.
        let refused = await remoteFailure { _ = try await Client.login(edge2Port, "alice", cookie) }
        #expect(refused?.check("twisted.cred.error.UnauthorizedLogin") == true)
        let (brokerConnection, broker) = try await Client.login(edge1Port, "edge2", edge2.token)
        let challenge = Client.randomChallenge()
        let failure = await remoteFailure {
            _ = try await broker.callRemote("authenticate_account", .string("alice"), .bytes(challenge),
                                            .bytes(Client.response(secret: cookie, challenge: challenge)))
        }
        #expect(failure?.type == "pbauth.HopLimitExceeded")
        await brokerConnection.close()
    }

    @Test func sigtermStopsTheMasterCleanlyAndTheDataStays() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        let (master, port) = try cluster.startMaster()
        let cookie = try #require(try await Client.authenticate(port, "alice", "pw").dictionaryValue?["cookie"]?.stringValue)
        #expect(master.stop(signal: SIGTERM) == 0)
        #expect(master.standardError.contains { $0.contains("pbauth master stopped") })
        #expect(!master.standardError.joined().contains(cookie))
        let sessions = try cluster.admin(["session", "list", "alice", "--json", "--database", cluster.database])
        #expect(!sessions.contains(cookie))
        let (_, again) = try cluster.startMaster()
        let (connection, _) = try await Client.login(again, "alice", cookie)
        await connection.close()
    }

    @Test func theMasterCreatesAMissingDatabaseAndRefusesAForeignFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let fresh = folder.file("new.sqlite")
        let master = try RunningProcess(BuiltProducts.executable("pbauth"), ["master", "--database", fresh, "--listen", "127.0.0.1:0"])
        _ = try Cluster.listeningPort(of: master, role: "master")
        #expect(master.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: fresh))
        #expect(FileManager.default.fileExists(atPath: fresh + ".key"))

        let foreign = folder.file("notes.txt")
        try Data("this is not a database\n".utf8).write(to: URL(fileURLWithPath: foreign))
        let outcome = try ChildProcess.run(BuiltProducts.executable("pbauth"), ["master", "--database", foreign, "--listen", "127.0.0.1:0"], timeout: 30)
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("pbauth"))
    }

    @Test func theMasterRefusesADatabaseWithPendingMigrations() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.file("old.sqlite")
        let noMigrations = folder.file("none")
        try FileManager.default.createDirectory(atPath: noMigrations, withIntermediateDirectories: true)
        // A pbauth database that has applied nothing yet: every embedded migration is pending.
        let created = try ChildProcess.run(BuiltProducts.executable("pbauth"), ["migrate", "--database", database, "--migrations", noMigrations])
        #expect(created.status == 0, "\(created.standardError)")
        let outcome = try ChildProcess.run(BuiltProducts.executable("pbauth"), ["master", "--database", database, "--listen", "127.0.0.1:0"], timeout: 30)
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("pbauth migrate"), "\(outcome.standardError)")
    }

    @Test func aSubordinateWithoutAnUpstreamIsRefusedWithAClearMessage() throws {
        let outcome = try ChildProcess.run(BuiltProducts.executable("pbauth"), ["subordinate", "--listen", "127.0.0.1:0"], timeout: 30)
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("upstream"))
    }
}
