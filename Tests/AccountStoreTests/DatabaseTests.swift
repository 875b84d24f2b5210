@testable import AccountStore
import Foundation
import Testing
import StoreTestSupport
import TestSupport

@Suite struct DatabaseTests {
    @Test func aWriteTransactionRollsBackAsAUnit() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = try Database(path: folder.file("t.sqlite"), create: true, busyTimeoutMilliseconds: 1_000)
        defer { database.close() }
        try database.execute("CREATE TABLE t (x INTEGER NOT NULL)")
        struct Planned: Error {}
        #expect(throws: Planned.self) {
            try database.writeTransaction {
                try database.run("INSERT INTO t (x) VALUES (?1)", .integer(1))
                try database.run("INSERT INTO t (x) VALUES (?1)", .integer(2))
                throw Planned()
            }
        }
        #expect(try database.queryFirst("SELECT count(*) FROM t") { $0.int64(0) } == 0)
        try database.writeTransaction {
            try database.run("INSERT INTO t (x) VALUES (?1)", .integer(3))
        }
        #expect(try database.query("SELECT x FROM t") { $0.int64(0) } == [3])
    }

    @Test func aReadSnapshotSeesOneStateAndRefusesWrites() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.file("t.sqlite")
        let database = try Database(path: path, create: true, busyTimeoutMilliseconds: 1_000)
        defer { database.close() }
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute("CREATE TABLE t (x INTEGER NOT NULL)")
        try database.run("INSERT INTO t (x) VALUES (1)")
        let other = try Database(path: path, create: false, busyTimeoutMilliseconds: 1_000)
        defer { other.close() }

        let (before, after) = try database.readTransaction {
            let before = try database.queryFirst("SELECT count(*) FROM t") { $0.int64(0) }
            // Another connection commits in the middle: the snapshot does not see it.
            try other.writeTransaction { try other.run("INSERT INTO t (x) VALUES (2)") }
            let after = try database.queryFirst("SELECT count(*) FROM t") { $0.int64(0) }
            return (before, after)
        }
        #expect(before == 1 && after == 1)
        #expect(try database.queryFirst("SELECT count(*) FROM t") { $0.int64(0) } == 2)

        #expect(throws: DatabaseError.self) {
            try database.readTransaction {
                try database.writeTransaction { try database.run("INSERT INTO t (x) VALUES (3)") }
            }
        }
        #expect(try database.queryFirst("SELECT count(*) FROM t") { $0.int64(0) } == 2)
        #expect(!database.isInsideTransaction)
    }

    @Test func statementsAreReusedAndReset() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = try Database(path: folder.file("t.sqlite"), create: true, busyTimeoutMilliseconds: 1_000)
        defer { database.close() }
        try database.execute("CREATE TABLE t (x INTEGER)")
        let first = try database.statement("SELECT x FROM t WHERE x = ?1")
        let second = try database.statement("SELECT x FROM t WHERE x = ?1")
        #expect(first === second)
        for value in 0..<5 { try database.run("INSERT INTO t (x) VALUES (?1)", .integer(Int64(value))) }
        for value in 0..<5 {
            #expect(try database.queryFirst("SELECT x FROM t WHERE x = ?1", .integer(Int64(value))) { $0.int64(0) } == Int64(value))
        }
    }

    @Test func errorsCarryCodeMessageAndSQLButNoBoundValue() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = try Database(path: folder.file("t.sqlite"), create: true, busyTimeoutMilliseconds: 1_000)
        defer { database.close() }
        try database.execute("CREATE TABLE t (x TEXT UNIQUE)")
        try database.run("INSERT INTO t (x) VALUES (?1)", .text("hunter2-secret"))
        do {
            try database.run("INSERT INTO t (x) VALUES (?1)", .text("hunter2-secret"))
            Issue.record("a duplicate was accepted")
        } catch let error as DatabaseError {
            #expect(error.isUniqueConstraint)
            #expect(error.primaryCode == 19)
            #expect(error.sql == "INSERT INTO t (x) VALUES (?1)")
            #expect(error.message.contains("UNIQUE"))
            #expect(!"\(error)".contains("hunter2"))
        }
    }

    @Test func pbauthDatabasesUseWALAndFullSync() throws {
        try withFreshStore { store, folder throws in
            #expect(try store.database.queryFirst("PRAGMA journal_mode") { $0.text(0) } == "wal")
            #expect(try store.database.queryFirst("PRAGMA synchronous") { $0.int64(0) } == 2)
            #expect(try store.database.queryFirst("PRAGMA foreign_keys") { $0.int64(0) } == 1)
        }
    }

    @Test func aSecondWriterWaitsThenFailsAsLocked() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.file("t.sqlite")
        let holder = try Database(path: path, create: true, busyTimeoutMilliseconds: 1_000)
        defer { holder.close() }
        try holder.enableWriteAheadLog()
        try holder.execute("CREATE TABLE t (x INTEGER)")
        try holder.execute("BEGIN IMMEDIATE")
        let other = try Database(path: path, create: false, busyTimeoutMilliseconds: 50)
        defer { other.close() }
        do {
            try other.writeTransaction { try other.run("INSERT INTO t (x) VALUES (1)") }
            Issue.record("a second writer got the lock")
        } catch let error as DatabaseError {
            #expect(error.isLocked)
        }
        // Readers are not blocked by the writer in WAL mode.
        #expect(try other.queryFirst("SELECT count(*) FROM t") { $0.int64(0) } == 0)
        try holder.execute("ROLLBACK")
    }
}

@Suite("SQLite version")
struct SQLiteVersionTests {
    @Test func anSQLiteOlderThan335IsRefusedWithAMessageAndThisOneIsAccepted() throws {
        #expect(throws: StoreError.sqliteTooOld(found: "3.34.1", needed: "3.35.0")) {
            try AccountStore.checkSQLiteVersion(3_034_001, text: "3.34.1")
        }
        #expect(StoreError.sqliteTooOld(found: "3.34.1", needed: "3.35.0").description.contains("3.35.0 or newer"))
        try AccountStore.checkSQLiteVersion()
    }
}
