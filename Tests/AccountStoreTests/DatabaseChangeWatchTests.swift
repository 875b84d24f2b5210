@testable import AccountStore
import Foundation
import StoreTestSupport
import Testing
import TestSupport

/// The wal-index header as a change stamp: equal while nothing commits, different after any
/// connection's commit, and one commit apart exactly when one transaction committed.
@Suite struct DatabaseChangeWatchTests {
    /// A WAL database with a table, held open by `database` (so its wal-index exists).
    private static func open(in folder: TemporaryDirectory) throws -> (path: String, database: Database) {
        let path = folder.file("t.sqlite")
        let database = try Database(path: path, create: true, busyTimeoutMilliseconds: 1_000)
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute("CREATE TABLE t (x INTEGER NOT NULL)")
        return (path, database)
    }

    @Test func aStampChangesWithEveryCommitOfAnyConnectionAndOnlyThen() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let (path, database) = try Self.open(in: folder)
        defer { database.close() }
        let watch = DatabaseChangeWatch()
        #expect(watch.stamp() == nil)
        #expect(watch.attach(databasePath: path))
        let first = try #require(watch.stamp())
        // Reads and an empty write transaction commit nothing.
        _ = try database.query("SELECT x FROM t") { $0.int64(0) }
        try database.writeTransaction { try database.run("UPDATE t SET x = 1 WHERE x = 99") }
        #expect(watch.stamp() == first)

        let other = try Database(path: path, create: false, busyTimeoutMilliseconds: 1_000)
        defer { other.close() }
        try other.run("INSERT INTO t (x) VALUES (1)")
        let second = try #require(watch.stamp())
        #expect(second != first)
        #expect(first.isFollowedByOneCommit(second))

        try database.run("INSERT INTO t (x) VALUES (2)")
        try other.run("INSERT INTO t (x) VALUES (3)")
        let fourth = try #require(watch.stamp())
        #expect(fourth != second)
        #expect(!second.isFollowedByOneCommit(fourth))

        watch.stopAnswering()
        #expect(watch.stamp() == nil)
        watch.release()
    }

    /// Closing a descriptor of the `-shm` file would drop every POSIX lock this process holds
    /// on it, SQLite's included: another process would then take the wal-index for its own,
    /// truncate it and rebuild it under the feet of this one's connections.
    @Test func attachingLeavesSQLitesLocksInPlace() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let (path, database) = try Self.open(in: folder)
        let watch = DatabaseChangeWatch()
        #expect(watch.attach(databasePath: path))
        #expect(watch.stamp() != nil)
        // An open file description lock conflicts with this process's own POSIX locks, so it
        // sees SQLite's (its probe descriptor stays open until the connection is closed).
        let probe = Foundation.open(path + "-shm", O_RDWR | O_CLOEXEC)
        #expect(probe >= 0)
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        let ofdGetLock: Int32 = 36  // F_OFD_GETLK (Linux)
        #expect(fcntl(probe, ofdGetLock, &lock) == 0)
        #expect(lock.l_type != Int16(F_UNLCK), "SQLite's lock on the wal-index is gone")
        watch.stopAnswering()
        database.close()
        watch.release()
        Foundation.close(probe)
    }

    @Test func aDatabaseWithoutAWalIndexGivesNoStamp() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.file("rollback.sqlite")
        let database = try Database(path: path, create: true, busyTimeoutMilliseconds: 1_000)
        defer { database.close() }
        try database.execute("CREATE TABLE t (x INTEGER NOT NULL)")
        let watch = DatabaseChangeWatch()
        #expect(!watch.attach(databasePath: path))
        #expect(watch.stamp() == nil)
    }

    @Test func aPoolStampsEachBatchOfReadsBeforeItsSnapshot() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.file("store.sqlite")
        let store = try AccountStore.createOrMigrate(databasePath: path, configuration: fastConfiguration)
        store.close()
        let pool = try AccountStorePool(databasePath: path, configuration: fastConfiguration)
        defer { pool.close() }
        let now = try #require(pool.changes.stamp())
        // Many reads queued at once share batches; each one sees a stamp no newer than its snapshot.
        let stamps = try await withThrowingTaskGroup(of: DatabaseChangeWatch.Stamp?.self) { group in
            for _ in 0..<64 { group.addTask { try await pool.read { $0.snapshotStamp ?? pool.changes.stamp() } } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(stamps.count == 64 && stamps.allSatisfy { $0 == now })
        try await pool.write { try $0.addUser(name: "carol", password: Array("pw".utf8)) }
        #expect(pool.changes.stamp() != now)
    }
}
