import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// `pbauth backup` while a master serves, and `pbauth audit prune`.
@Suite("Backup and audit prune")
struct BackupTests {
    @Test func anOnlineBackupRestoresToAMasterThatKnowsEveryCookie() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        let master = try cluster.startMaster()
        var cookies: [String] = []
        for _ in 0..<5 {
            cookies.append(try #require(try await Client.authenticate(master.port, "alice", "pw").dictionaryValue?["cookie"]?.stringValue))
        }
        // Logins go on while the copy is made.
        let port = master.port
        let busy = Task {
            var count = 0
            while !Task.isCancelled, count < 2_000 {
                if let (connection, _) = try? await Client.login(port, "alice", cookies[count % cookies.count]) { await connection.close() }
                count += 1
            }
        }
        let copy = cluster.folder.file("backup.sqlite")
        let output = try cluster.admin(["backup", "--to", copy, "--with-key", "--database", cluster.database])
        busy.cancel()
        _ = await busy.value
        #expect(output.contains("1 accounts, 5 sessions"))
        #expect(output.contains("integrity check ok"))
        #expect(output.contains("copied the server key"))
        for path in [copy, copy + ".key"] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode == 0o600, "\(path)")
        }
        // Never over an existing file.
        let again = try ChildProcess.run(cluster.pbauth, ["backup", "--to", copy, "--database", cluster.database], environment: Cluster.testScrypt)
        #expect(again.status == 1)
        #expect(again.standardError.contains("exists already"))
        // Without --with-key, the reminder.
        let plain = try cluster.admin(["backup", "--to", cluster.folder.file("plain.sqlite"), "--database", cluster.database])
        #expect(plain.contains("reminder: the server key"))
        #expect(!FileManager.default.fileExists(atPath: cluster.folder.file("plain.sqlite.key")))
        let audit = try cluster.admin(["audit", "--database", cluster.database])
        #expect(audit.contains("backup"))
        #expect(audit.contains("to \(copy) with the server key"))

        // Restoring is copying back: a master on the copy (its key beside it) accepts every cookie.
        master.process.stop()
        let restoredFolder = try TemporaryDirectory(prefix: "pbauth-restored")
        defer { restoredFolder.remove() }
        let restored = restoredFolder.file("pbauth.sqlite")
        try FileManager.default.copyItem(atPath: copy, toPath: restored)
        try FileManager.default.copyItem(atPath: copy + ".key", toPath: restored + ".key")
        let second = try RunningProcess(cluster.pbauth, ["master", "--database", restored, "--listen", "127.0.0.1:0",
                                                         "--set", "scrypt_ln=4"] + Cluster.unthrottled, environment: Cluster.testScrypt)
        defer { second.stop() }
        let secondPort = try Cluster.listeningPort(of: second, role: "master")
        for cookie in cookies {
            let (connection, _) = try await Client.login(secondPort, "alice", cookie)
            await connection.close()
        }
    }

    @Test func auditPruneDeletesOldEntriesAndRecordsItself() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        let before = try cluster.admin(["audit", "--json", "--database", cluster.database])
        let count = try #require(try JSONSerialization.jsonObject(with: Data(before.utf8)) as? [[String: Any]]).count
        #expect(count >= 2)
        let old = try cluster.admin(["audit", "prune", "--before", "2020-01-01", "--database", cluster.database])
        #expect(old.contains("deleted 0 audit entries written before 2020-01-01T00:00:00Z"))
        try await Task.sleep(for: .seconds(1.1))
        let cutoff = ISO8601DateFormatter().string(from: Date())
        let pruned = try cluster.admin(["audit", "prune", "--before", cutoff, "--database", cluster.database])
        // Everything before now: the account, the first read of the log and the first prune.
        #expect(pruned.contains("deleted \(count + 2) audit entries"))
        let after = try cluster.admin(["audit", "--json", "--database", cluster.database])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(after.utf8)) as? [[String: Any]])
        // The read of the log is recorded after the read: only the prune is there.
        #expect(entries.map { $0["action"] as? String } == ["audit.prune"])
        #expect((entries.first?["reason"] as? String)?.contains("deleted \(count + 2) entries") == true)
        let future = try ChildProcess.run(cluster.pbauth, ["audit", "prune", "--before", "2999-01-01", "--database", cluster.database])
        #expect(future.status != 0)
        #expect(future.standardError.contains("must not be in the future"))
    }
}
