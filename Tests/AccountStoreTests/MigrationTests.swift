@testable import AccountStore
import Foundation
import Testing
import StoreTestSupport
import TestSupport

@Suite struct MigrationTests {
    let first = "CREATE TABLE a (x INTEGER);\nINSERT INTO a (x) VALUES (1);\n"
    let second = "INSERT INTO a (x) VALUES (2);\n"

    @Test func appliesInOrderOnceAndRecordsChecksums() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: ["0001_create_a.sql": first, "0002_add_two.sql": second])
        let db = folder.file("m.sqlite")
        #expect(try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil) == ["0001_create_a.sql", "0002_add_two.sql"])
        #expect(try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil) == [])
        #expect(try integer("SELECT count(*) FROM a", in: db) == 2)
        let status = try AccountStore.migrationStatus(databasePath: db, source: .folder(dir))
        #expect(status.map(\.name) == ["0001_create_a.sql", "0002_add_two.sql"])
        #expect(status.allSatisfy { if case .applied = $0.state { true } else { false } })
        let database = try Database(path: db, create: false, busyTimeoutMilliseconds: 1_000)
        defer { database.close() }
        let checksum = try database.queryFirst("SELECT checksum FROM schema_migrations WHERE name = '0001_create_a.sql'") { $0.text(0) }
        #expect(checksum == Migration(name: "0001_create_a.sql", contents: first).checksum)
        #expect(checksum?.count == 64)
    }

    @Test func statusOfAMissingDatabaseListsEverythingPendingAndCreatesNothing() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("missing.sqlite")
        let status = try AccountStore.migrationStatus(databasePath: db, source: .embedded)
        #expect(!status.isEmpty)
        #expect(status.allSatisfy { $0.state == .pending })
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test func aChangedAppliedFileIsRefusedAndNothingIsApplied() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: ["0001_create_a.sql": first])
        let db = folder.file("m.sqlite")
        _ = try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil)
        try Data((first + "-- edited\n").utf8).write(to: URL(fileURLWithPath: dir + "/0001_create_a.sql"))
        try Data(second.utf8).write(to: URL(fileURLWithPath: dir + "/0002_add_two.sql"))
        #expect(throws: MigrationError.changedFile("0001_create_a.sql")) {
            try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil)
        }
        #expect(try integer("SELECT count(*) FROM a", in: db) == 1)
        #expect(try integer("SELECT count(*) FROM schema_migrations", in: db) == 1)
    }

    @Test func lineEndingsDoNotChangeTheChecksum() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: ["0001_create_a.sql": first])
        let db = folder.file("m.sqlite")
        _ = try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil)
        try Data(first.replacingOccurrences(of: "\n", with: "\r\n").utf8).write(to: URL(fileURLWithPath: dir + "/0001_create_a.sql"))
        #expect(try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil) == [])
    }

    @Test func aFailingFileIsRolledBackWholeAndEarlierFilesStay() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: [
            "0001_create_a.sql": first,
            "0002_half_done.sql": "CREATE TABLE b (y INTEGER);\nINSERT INTO b (y) VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n",
            "0003_never_reached.sql": "CREATE TABLE c (z INTEGER);\n",
        ])
        let db = folder.file("m.sqlite")
        do {
            _ = try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil)
            Issue.record("a failing migration was accepted")
        } catch let error as MigrationError {
            guard case .failed(let name, let message) = error else { Issue.record("unexpected \(error)"); return }
            #expect(name == "0002_half_done.sql")
            #expect(message.contains("no_such_table"))
            #expect(!"\(error)".contains("\n"))
        }
        #expect(try integer("SELECT count(*) FROM schema_migrations", in: db) == 1)
        #expect(try integer("SELECT count(*) FROM sqlite_schema WHERE name IN ('b', 'c')", in: db) == 0)
        #expect(try integer("SELECT count(*) FROM a", in: db) == 1)
    }

    @Test func aDatabaseNewerThanTheBuildIsRefused() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let newer = try makeMigrationFolder(folder, "newer", files: ["0001_create_a.sql": first, "0002_add_two.sql": second])
        let older = try makeMigrationFolder(folder, "older", files: ["0001_create_a.sql": first])
        let db = folder.file("m.sqlite")
        _ = try AccountStore.migrate(databasePath: db, source: .folder(newer), actor: nil)
        #expect(throws: MigrationError.databaseNewer(unknown: ["0002_add_two.sql"])) {
            try AccountStore.migrate(databasePath: db, source: .folder(older), actor: nil)
        }
        #expect("\(MigrationError.databaseNewer(unknown: ["x"]))".contains("the database is newer than this pbauth"))
    }

    @Test func theStoreRefusesADatabaseWithAMigrationItDoesNotKnow() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        var files: [String: String] = [:]
        for file in EmbeddedMigrations.files { files[file.name] = file.contents }
        files["9999_from_the_future.sql"] = "CREATE TABLE future (x INTEGER);\n"
        let dir = try makeMigrationFolder(folder, files: files)
        let db = folder.file("m.sqlite")
        _ = try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil)
        #expect(throws: MigrationError.databaseNewer(unknown: ["9999_from_the_future.sql"])) {
            try AccountStore.open(databasePath: db, configuration: fastConfiguration)
        }
    }

    @Test(arguments: ["README.md", "0002-dash.sql", "2_short.sql", "0002_Upper.sql", "0002_.sql", "0002_x.SQL"])
    func aMisnamedFileIsRefusedNotSkipped(name: String) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: ["0001_create_a.sql": first, name: second])
        let db = folder.file("m.sqlite")
        #expect(throws: MigrationError.misnamedFile(name)) {
            try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil)
        }
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test func aFileThatCommitsByItselfIsNotRecorded() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: ["0001_create_a.sql": "CREATE TABLE a (x INTEGER);\nCOMMIT;\n"])
        let db = folder.file("m.sqlite")
        #expect(throws: MigrationError.endsItsOwnTransaction("0001_create_a.sql")) {
            try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil)
        }
        #expect(try integer("SELECT count(*) FROM schema_migrations", in: db) == 0)
    }

    @Test func twoFilesWithOneNumberAreRefused() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: ["0001_create_a.sql": first, "0001_again.sql": second])
        #expect(throws: MigrationError.duplicateNumber("0001_again.sql", "0001_create_a.sql")) {
            try AccountStore.migrate(databasePath: folder.file("m.sqlite"), source: .folder(dir), actor: nil)
        }
    }

    @Test func concurrentRunsNeverApplyAFileTwice() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let dir = try makeMigrationFolder(folder, files: [
            "0001_create_a.sql": first, "0002_add_two.sql": second, "0003_add_three.sql": "INSERT INTO a (x) VALUES (3);\n",
        ])
        let db = folder.file("m.sqlite")
        let results = ResultBox()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                results.add(.success(try AccountStore.migrate(databasePath: db, source: .folder(dir), actor: nil)))
            } catch {
                results.add(.failure(error))
            }
        }
        let applied = results.all.compactMap { try? $0.get() }
        #expect(applied.count == 4, "every run waits for the lock and succeeds: \(results.all)")
        #expect(applied.flatMap { $0 }.sorted() == ["0001_create_a.sql", "0002_add_two.sql", "0003_add_three.sql"])
        #expect(try integer("SELECT count(*) FROM a", in: db) == 3)
    }

    @Test func aDatabaseOfAnotherProgramIsRefusedAndLeftAsItWas() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("other.sqlite")
        let other = try Database(path: db, create: true, busyTimeoutMilliseconds: 1_000)
        try other.execute("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me');")
        other.close()
        let before = fileBytes(db)
        #expect(throws: StoreError.notAPBAuthDatabase(db)) {
            try AccountStore.migrate(databasePath: db, source: .embedded, actor: nil)
        }
        #expect(throws: StoreError.notAPBAuthDatabase(db)) {
            try AccountStore.open(databasePath: db, configuration: fastConfiguration)
        }
        #expect(fileBytes(db) == before)
        #expect(!FileManager.default.fileExists(atPath: db + ".key"))
    }

    @Test func aFileThatIsNotADatabaseIsRefused() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("text.sqlite")
        try Data(String(repeating: "this is not a database\n", count: 100).utf8).write(to: URL(fileURLWithPath: db))
        #expect(throws: StoreError.notAPBAuthDatabase(db)) {
            try AccountStore.migrate(databasePath: db, source: .embedded, actor: nil)
        }
        #expect(throws: StoreError.notAPBAuthDatabase(db)) {
            try AccountStore.open(databasePath: db, configuration: fastConfiguration)
        }
    }

    @Test func openingNeedsTheDatabaseMigrated() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("pbauth.sqlite")
        #expect(throws: StoreError.noDatabase(db)) { try AccountStore.open(databasePath: db) }
        #expect(!FileManager.default.fileExists(atPath: db))
        let empty = try Database(path: db, create: true, busyTimeoutMilliseconds: 1_000)
        empty.close()
        do {
            _ = try AccountStore.open(databasePath: db, configuration: fastConfiguration)
            Issue.record("an unmigrated database was opened")
        } catch let error as StoreError {
            guard case .pendingMigrations = error else { Issue.record("unexpected \(error)"); return }
            #expect("\(error)".contains("pbauth migrate --database \(db)"))
        }
    }

    @Test func theEmbeddedMigrationsAreTheMigrationsFolder() throws {
        let embedded = try MigrationSource.embedded.load()
        let onDisk = try MigrationSource.folder(BuiltProducts.packageRoot + "/Migrations").load()
        #expect(embedded.first?.name == "0001_initial_schema.sql")
        #expect(embedded == onDisk)
    }
}

/// Collects results from concurrent work.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<[String], Error>] = []
    func add(_ result: Result<[String], Error>) { lock.withLock { results.append(result) } }
    var all: [Result<[String], Error>] { lock.withLock { results } }
}
