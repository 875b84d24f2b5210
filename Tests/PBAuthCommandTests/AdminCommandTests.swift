@testable import AccountStore
import Foundation
import Testing
import StoreTestSupport
import TestSupport

/// End-to-end tests of the built `pbauth` binary (small scrypt parameters through PBAUTH_SCRYPT_LN).
@Suite struct AdminCommandTests {
    let binary = BuiltProducts.executable("pbauth")
    let environment = ["PBAUTH_SCRYPT_LN": "4", "PBAUTH_DATABASE": "/nonexistent/not-this-one.sqlite"]

    func pbauth(_ arguments: [String], input: String? = nil, extra: [String: String] = [:], in directory: String? = nil) throws -> ProcessOutcome {
        try ChildProcess.run(binary, arguments, input: input, environment: environment.merging(extra) { $1 },
                             currentDirectory: directory, timeout: 30)
    }

    /// A fresh folder with a migrated database at `db`.
    func migrated(_ body: (TemporaryDirectory, String) throws -> Void) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("pbauth.sqlite")
        let outcome = try pbauth(["migrate", "--database", db])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        try body(folder, db)
    }

    /// Expects exit 1 with exactly one line `pbauth: …` holding `text` on standard error.
    func expectRefusal(_ outcome: ProcessOutcome, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(outcome.status == 1, "\(outcome)", sourceLocation: sourceLocation)
        let lines = outcome.standardError.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.count == 1, "\(outcome.standardError)", sourceLocation: sourceLocation)
        #expect(lines.first?.hasPrefix("pbauth: ") == true, sourceLocation: sourceLocation)
        #expect(outcome.standardError.contains(text), "\(outcome.standardError)", sourceLocation: sourceLocation)
    }

    @Test func migrateWorksFromAnyDirectoryAndReportsStatus() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("fresh.sqlite")
        let before = try pbauth(["migrate", "--status", "--database", db], in: "/")
        #expect(before.status == 0)
        #expect(before.standardOutput.contains("pending  0001_initial_schema.sql"))
        let run = try pbauth(["migrate", "--database", db], in: "/")
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.standardOutput.contains("applied 0001_initial_schema.sql"))
        let after = try pbauth(["migrate", "--status", "--database", db])
        #expect(after.standardOutput.contains("applied  0001_initial_schema.sql"))
        let again = try pbauth(["migrate", "--database", db])
        #expect(again.status == 0 && again.standardOutput.contains("up to date"))
    }

    @Test func theDatabaseComesFromTheEnvironmentOrTheCurrentDirectory() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let viaEnvironment = try pbauth(["migrate"], extra: ["PBAUTH_DATABASE": folder.file("env.sqlite")])
        #expect(viaEnvironment.status == 0)
        #expect(FileManager.default.fileExists(atPath: folder.file("env.sqlite")))
        var plain = ProcessInfo.processInfo.environment
        plain["PBAUTH_DATABASE"] = nil
        plain["PBAUTH_SCRYPT_LN"] = "4"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["migrate"]
        process.environment = plain
        process.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: folder.file("pbauth.sqlite")))
    }

    @Test func accountsAreManagedEndToEnd() throws {
        try migrated { folder, db throws in
            let add = try pbauth(["account", "add", "alice", "--database", db, "--password-stdin"], input: "wonderland\n")
            #expect(add.status == 0, "\(add.standardError)")
            let broker = try pbauth(["account", "add", "edge-1", "--broker", "--database", db])
            #expect(broker.status == 0)
            let token = try #require(broker.standardOutput.split(separator: "\n").last.map(String.init))
            #expect(token.utf8.count == 43)

            #expect(try pbauth(["account", "disable", "alice", "--database", db]).status == 0)
            var list = try pbauth(["account", "list", "--json", "--database", db])
            var accounts = try #require(try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]])
            #expect(accounts.map { $0["name"] as? String } == ["alice", "edge-1"])
            #expect(accounts.first?["disabled"] as? Bool == true)
            #expect(accounts.last?["kind"] as? String == "broker")
            #expect(try pbauth(["account", "enable", "alice", "--database", db]).status == 0)
            let passwd = try pbauth(["account", "passwd", "alice", "--password-stdin", "--database", db], input: "looking-glass\n")
            #expect(passwd.status == 0, "\(passwd.standardError)")

            let store = try AccountStore.open(databasePath: db, configuration: fastConfiguration)
            let alice = try #require(try store.account(named: "alice"))
            #expect(try store.verifyPassword(accountID: alice.id, password: Array("looking-glass".utf8)))
            #expect(try !store.verifyPassword(accountID: alice.id, password: Array("wonderland".utf8)))
            let edge = try #require(try store.account(named: "edge-1"))
            #expect(try store.brokerTokenVerifier(accountID: edge.id) == SecretDerivation.md5(Array(token.utf8)))
            store.close()

            #expect(try pbauth(["account", "remove", "alice", "--database", db]).status == 0)
            list = try pbauth(["account", "list", "--json", "--database", db])
            accounts = try #require(try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]])
            #expect(accounts.map { $0["name"] as? String } == ["edge-1"])
            let text = try pbauth(["account", "list", "--database", db])
            #expect(text.standardOutput.contains("edge-1") && text.standardOutput.contains("broker"))
        }
    }

    @Test func refusalsAreOneLineWithExitCodeOne() throws {
        try migrated { folder, db throws in
            #expect(try pbauth(["account", "add", "bob", "--password-stdin", "--database", db], input: "pw\n").status == 0)
            expectRefusal(try pbauth(["account", "disable", "nobody", "--database", db]), "no account named 'nobody'")
            expectRefusal(try pbauth(["account", "remove", "nobody", "--database", db]), "no account named 'nobody'")
            expectRefusal(try pbauth(["account", "passwd", "nobody", "--password-stdin", "--database", db], input: "x\n"),
                          "no account named 'nobody'")
            expectRefusal(try pbauth(["account", "add", "bob", "--password-stdin", "--database", db], input: "pw\n"),
                          "an account named 'bob' already exists")
            expectRefusal(try pbauth(["account", "add", "bob", "--broker", "--database", db]), "already exists")
            expectRefusal(try pbauth(["account", "add", "carol", "--password-stdin", "--database", db], input: "\n"),
                          "the password is empty")
            expectRefusal(try pbauth(["account", "add", "carol", "--password-stdin", "--database", db], input: ""),
                          "the password is empty")
            expectRefusal(try pbauth(["account", "add", "carol", "--database", db], input: "pw\n"),
                          "--password-stdin")
            expectRefusal(try pbauth(["account", "add", "bad name", "--password-stdin", "--database", db], input: "pw\n"),
                          "invalid account name 'bad name'")
            expectRefusal(try pbauth(["account", "add", "esc\u{1B}[2J", "--broker", "--database", db]),
                          "invalid account name 'esc\\u{1b}[2J'")
            expectRefusal(try pbauth(["account", "add", String(repeating: "x", count: 65), "--broker", "--database", db]),
                          "1 to 64")
            expectRefusal(try pbauth(["session", "list", "nobody", "--database", db]), "no account named 'nobody'")
            expectRefusal(try pbauth(["session", "revoke", "bob", "--session", "feedface", "--database", db]), "has no session")
            let usage = try pbauth(["session", "revoke", "bob", "--database", db])
            #expect(usage.status != 0 && usage.status != 1, "a usage error: \(usage.status)")

            let missing = folder.file("missing.sqlite")
            expectRefusal(try pbauth(["account", "list", "--database", missing]), "pbauth migrate --database \(missing)")
            #expect(!FileManager.default.fileExists(atPath: missing))
        }
    }

    @Test func aFileThatIsNotAPBAuthDatabaseIsRefused() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let text = folder.file("notes.txt")
        try Data(String(repeating: "just some text\n", count: 200).utf8).write(to: URL(fileURLWithPath: text))
        expectRefusal(try pbauth(["account", "list", "--database", text]), "is not a pbauth database")
        expectRefusal(try pbauth(["migrate", "--database", text]), "is not a pbauth database")
        let other = folder.file("other.sqlite")
        let database = try Database(path: other, create: true, busyTimeoutMilliseconds: 1_000)
        try database.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
        database.close()
        expectRefusal(try pbauth(["migrate", "--database", other]), "is not a pbauth database")
        expectRefusal(try pbauth(["account", "add", "x", "--broker", "--database", other]), "is not a pbauth database")
    }

    @Test func aLockedDatabaseIsRefusedWithAMessage() throws {
        try migrated { folder, db throws in
            // Create the key now, so that the locked run only needs the write lock.
            #expect(try pbauth(["account", "list", "--database", db]).status == 0)
            let holder = try Database(path: db, create: false, busyTimeoutMilliseconds: 1_000)
            defer { holder.close() }
            try holder.execute("BEGIN IMMEDIATE")
            let outcome = try pbauth(["account", "add", "dan", "--broker", "--database", db], extra: ["PBAUTH_BUSY_TIMEOUT_MS": "100"])
            expectRefusal(outcome, "is locked by another process")
            #expect(!outcome.standardOutput.contains("token"))
            try holder.execute("ROLLBACK")
            #expect(try pbauth(["account", "add", "dan", "--broker", "--database", db]).status == 0)
        }
    }

    @Test func migrationRefusalsEndToEnd() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: ["0001_create_a.sql": "CREATE TABLE a (x INTEGER);\n"])
        let db = folder.file("m.sqlite")
        #expect(try pbauth(["migrate", "--database", db, "--migrations", dir]).status == 0)

        try Data("CREATE TABLE a (x INTEGER, y INTEGER);\n".utf8).write(to: URL(fileURLWithPath: dir + "/0001_create_a.sql"))
        expectRefusal(try pbauth(["migrate", "--database", db, "--migrations", dir]), "0001_create_a.sql was changed")
        try Data("CREATE TABLE a (x INTEGER);\n".utf8).write(to: URL(fileURLWithPath: dir + "/0001_create_a.sql"))

        try Data("CREATE TABLE b (x INTEGER);\nSELECT * FROM missing_table;\n".utf8).write(to: URL(fileURLWithPath: dir + "/0002_broken.sql"))
        let broken = try pbauth(["migrate", "--database", db, "--migrations", dir])
        expectRefusal(broken, "0002_broken.sql")
        #expect(broken.standardError.contains("no such table: missing_table"))
        #expect(try integer("SELECT count(*) FROM sqlite_schema WHERE name = 'b'", in: db) == 0)
        try FileManager.default.removeItem(atPath: dir + "/0002_broken.sql")

        try Data("SELECT 1;\n".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        expectRefusal(try pbauth(["migrate", "--database", db, "--migrations", dir]), "'notes.txt' does not match")
        try FileManager.default.removeItem(atPath: dir + "/notes.txt")

        try Data("CREATE TABLE c (x INTEGER);\n".utf8).write(to: URL(fileURLWithPath: dir + "/0002_add_c.sql"))
        #expect(try pbauth(["migrate", "--database", db, "--migrations", dir]).status == 0)
        try FileManager.default.removeItem(atPath: dir + "/0002_add_c.sql")
        expectRefusal(try pbauth(["migrate", "--database", db, "--migrations", dir]), "the database is newer than this pbauth")
        let status = try pbauth(["migrate", "--status", "--database", db, "--migrations", dir])
        #expect(status.standardOutput.contains("unknown  0002_add_c.sql"))
    }

    @Test(arguments: 0..<5)
    func concurrentMigrateProcessesApplyEachFileOnce(_ round: Int) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: [
            "0001_create_a.sql": "CREATE TABLE a (x INTEGER);\n",
            "0002_one.sql": "INSERT INTO a (x) VALUES (1);\n",
            "0003_two.sql": "INSERT INTO a (x) VALUES (2);\n",
        ])
        let db = folder.file("m.sqlite")
        let processes = try (0..<4).map { _ in
            try RunningProcess(binary, ["migrate", "--database", db, "--migrations", dir], environment: environment)
        }
        let statuses = processes.map { process -> Int32 in
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            return process.stop()
        }
        #expect(statuses == [0, 0, 0, 0], "\(processes.map(\.standardError))")
        let appliedLines = processes.flatMap(\.standardOutput).filter { $0.hasPrefix("applied ") }
        #expect(appliedLines.sorted() == ["applied 0001_create_a.sql", "applied 0002_one.sql", "applied 0003_two.sql"])
        #expect(try integer("SELECT count(*) FROM a", in: db) == 2)
    }

    @Test(arguments: 0..<3)
    func aMigrateAndAMasterStartingOnANewDatabaseBothSucceed(_ round: Int) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("new.sqlite")
        let migrate = try RunningProcess(binary, ["migrate", "--database", db], environment: environment)
        let master = try RunningProcess(binary, ["master", "--database", db, "--listen", "127.0.0.1:0"], environment: environment)
        defer { _ = master.stop(signal: SIGKILL, timeout: 5) }
        let deadline = Date().addingTimeInterval(30)
        while migrate.isRunning && Date() < deadline { usleep(10_000) }
        #expect(migrate.stop() == 0, "\(migrate.standardError)")
        #expect(master.waitForLine(timeout: 30) { $0.contains("pbauth master listening on") } != nil,
                "the master did not start: \(master.standardError)")
    }

    @Test func sessionsAreListedAndRevoked() throws {
        try migrated { folder, db throws in
            #expect(try pbauth(["account", "add", "eve", "--password-stdin", "--database", db], input: "pw\n").status == 0)
            let store = try AccountStore.open(databasePath: db, configuration: fastConfiguration)
            let eve = try #require(try store.account(named: "eve"))
            let now = Int64(Date().timeIntervalSince1970)
            let first = try store.startSession(accountID: eve.id, lifetime: 3_600, brokerPath: ["edge-1"], source: "127.0.0.1:4000", now: now)
            let second = try store.startSession(accountID: eve.id, lifetime: 3_600, brokerPath: [], source: "", now: now)
            store.close()

            let list = try pbauth(["session", "list", "eve", "--json", "--database", db])
            #expect(list.status == 0)
            let sessions = try #require(try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]])
            #expect(Set(sessions.compactMap { $0["session"] as? String }) == [first.id, second.id])
            #expect(!list.standardOutput.contains(first.cookie) && !list.standardOutput.contains(second.cookie))
            let all = try pbauth(["session", "list", "--database", db])
            #expect(all.standardOutput.contains(first.id) && all.standardOutput.contains("edge-1"))

            let one = try pbauth(["session", "revoke", "eve", "--session", first.id, "--database", db])
            #expect(one.status == 0, "\(one.standardError)")
            expectRefusal(try pbauth(["session", "revoke", "eve", "--session", first.id, "--database", db]), "already revoked")
            let rest = try pbauth(["session", "revoke", "eve", "--all", "--database", db])
            #expect(rest.standardOutput.contains("revoked 1 session of eve"))
            let empty = try pbauth(["session", "list", "eve", "--json", "--database", db])
            let none = try #require(try JSONSerialization.jsonObject(with: Data(empty.standardOutput.utf8)) as? [Any])
            #expect(none.isEmpty)
        }
    }

    @Test func noOutputHoldsASecretAndEveryActionIsAudited() throws {
        try migrated { folder, db throws in
            let password = "Tr0ub4dor-and-3"
            #expect(try pbauth(["account", "add", "fay", "--password-stdin", "--database", db], input: password + "\n").status == 0)
            let broker = try pbauth(["account", "add", "edge-2", "--broker", "--database", db])
            let token = try #require(broker.standardOutput.split(separator: "\n").last.map(String.init))
            #expect(try pbauth(["account", "passwd", "fay", "--password-stdin", "--database", db], input: password + "x\n").status == 0)
            _ = try pbauth(["account", "add", "fay", "--password-stdin", "--database", db], input: password + "\n")

            let store = try AccountStore.open(databasePath: db, configuration: fastConfiguration)
            try store.setPBPasswordLogin(enabled: true)
            let fay = try #require(try store.account(named: "fay"))
            #expect(try store.verifyPassword(accountID: fay.id, password: Array((password + "x").utf8)))
            let session = try store.startSession(accountID: fay.id, lifetime: 3_600, brokerPath: [], source: "", now: Int64(Date().timeIntervalSince1970))
            let hash = try #require(try store.database.queryFirst("SELECT password_hash FROM accounts WHERE name = 'fay'") { $0.text(0) })
            let verifier = try #require(try store.pbPasswordVerifier(accountID: fay.id))
            store.close()

            let outputs = try [
                ["account", "list", "--json"], ["account", "list"], ["audit", "--json"], ["audit"],
                ["session", "list", "--json"], ["session", "list"], ["migrate", "--status"],
            ].map { try pbauth($0 + ["--database", db]) }
            let secrets = [password, password + "x", token, session.cookie, hash, hex(verifier),
                           String(hash.split(separator: "$").last ?? "")]
            for outcome in outputs {
                #expect(outcome.status == 0)
                for secret in secrets {
                    #expect(!outcome.standardOutput.contains(secret) && !outcome.standardError.contains(secret))
                }
            }

            let audit = try pbauth(["audit", "--json", "--database", db])
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(audit.standardOutput.utf8)) as? [[String: Any]])
            let actions = entries.map { "\($0["action"] as? String ?? "?") \($0["account"] as? String ?? "-") \($0["outcome"] as? String ?? "?")" }
            #expect(actions.starts(with: [
                "migrate - success", "account.add fay success", "account.add edge-2 success",
                "account.passwd fay success", "account.add fay refused",
            ]), "\(actions)")
            #expect(entries.allSatisfy { ($0["actor"] as? String)?.hasPrefix("admin:") == true })
        }
    }
}
