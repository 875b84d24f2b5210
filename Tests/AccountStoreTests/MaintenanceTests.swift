@testable import AccountStore
import Foundation
import StoreTestSupport
import TestSupport
import Testing

/// Retention, pruning the audit log, readiness and backups, on real database files.
@Suite("Store maintenance")
struct MaintenanceTests {
    private func aliceID(_ store: AccountStore) throws -> Int64 {
        try store.addUser(name: "alice", password: Array("pw".utf8), now: 1_000)
        return try #require(try store.account(named: "alice")).id
    }

    @Test func endedSessionsAreDeletedOnlyOnceTheRetentionIsOver() throws {
        try withFreshStore { store, folder in
            let alice = try aliceID(store)
            let expired = try store.startSession(accountID: alice, lifetime: 100, brokerPath: [], source: "", now: 1_000)  // ends 1,100
            let live = try store.startSession(accountID: alice, lifetime: 4_000_000_000, brokerPath: [], source: "", now: 1_000)
            let revoked = try store.startSession(accountID: alice, lifetime: 4_000_000_000, brokerPath: [], source: "", now: 1_000)
            try store.revokeSession(id: revoked.id)
            let revokedAt = try #require(try integer("SELECT revoked_at FROM sessions WHERE id = '\(revoked.id)'", in: folder.file("pbauth.sqlite")))
            #expect(abs(revokedAt - Int64(Date().timeIntervalSince1970)) < 60)

            // Not yet: the cutoff is before both ends.
            #expect(try store.deleteEndedSessions(endedBefore: 1_050, idleLimit: nil, limit: 10) == 0)
            // The expired one goes once the cutoff passed its expiry; the revoked one only past its revocation.
            #expect(try store.deleteEndedSessions(endedBefore: 1_200, idleLimit: nil, limit: 10) == 1)
            #expect(try store.session(id: expired.id) == nil)
            #expect(try store.session(id: revoked.id) != nil)
            #expect(try store.deleteEndedSessions(endedBefore: revokedAt + 1, idleLimit: nil, limit: 10) == 1)
            #expect(try store.session(id: revoked.id) == nil)
            #expect(try store.session(id: live.id) != nil)
            // With an idle limit, a session unused for that long before the cutoff has ended too.
            #expect(try store.deleteEndedSessions(endedBefore: 1_000 + 50, idleLimit: 100, limit: 10) == 0)
            #expect(try store.deleteEndedSessions(endedBefore: 1_000 + 101, idleLimit: 100, limit: 10) == 1)
            #expect(try store.session(id: live.id) == nil)
        }
    }

    @Test func retentionDeletesInBatches() throws {
        try withFreshStore { store, _ in
            let alice = try aliceID(store)
            for _ in 0..<25 { _ = try store.startSession(accountID: alice, lifetime: 1, brokerPath: [], source: "", now: 1_000) }
            #expect(try store.deleteEndedSessions(endedBefore: 2_000, idleLimit: nil, limit: 10) == 10)
            #expect(try store.deleteEndedSessions(endedBefore: 2_000, idleLimit: nil, limit: 10) == 10)
            #expect(try store.deleteEndedSessions(endedBefore: 2_000, idleLimit: nil, limit: 10) == 5)
            #expect(try store.deleteEndedSessions(endedBefore: 2_000, idleLimit: nil, limit: 10) == 0)
        }
    }

    @Test func theAuditLogLosesOnlyWhatAPruneDeletes() throws {
        try withFreshStore { store, folder in
            for time in [100, 200, 300, 400] as [Int64] {
                try store.appendAudit(AuditEntry(time: time, actor: "test", action: "x", outcome: "success"))
            }
            // Any other delete is still refused by the schema, and so is an update.
            let path = folder.file("pbauth.sqlite")
            let other = try Database(path: path, create: false, busyTimeoutMilliseconds: 1_000)
            defer { other.close() }
            #expect(throws: DatabaseError.self) { try other.run("DELETE FROM audit_log WHERE time < 1000") }
            #expect(throws: DatabaseError.self) { try other.run("UPDATE audit_log SET actor = 'x'") }
            #expect(try store.pruneAudit(before: 300, batch: 1) == 2)
            #expect(try store.auditEntries().map(\.time) == [300, 400])
            // The cutoff does not stay behind for others to use.
            #expect(try integer("SELECT count(*) FROM settings WHERE name = 'audit_prune_before'", in: path) == 0)
            #expect(throws: DatabaseError.self) { try other.run("DELETE FROM audit_log") }
        }
    }

    @Test func aWritableDatabaseIsReadyAndTheProbeChangesNothing() throws {
        try withFreshStore { store, folder in
            try store.checkWritable()
            #expect(try integer("SELECT count(*) FROM settings WHERE name = 'readiness_probe'", in: folder.file("pbauth.sqlite")) == 0)
            // Another connection holding the write lock makes the probe fail after the busy timeout.
            let other = try Database(path: folder.file("pbauth.sqlite"), create: false, busyTimeoutMilliseconds: 100)
            defer { other.close() }
            try other.run("BEGIN IMMEDIATE")
            let blocked = try AccountStore.open(databasePath: folder.file("pbauth.sqlite"),
                                                configuration: StoreConfiguration(scrypt: fastConfiguration.scrypt, busyTimeoutMilliseconds: 100))
            defer { blocked.close() }
            #expect(throws: DatabaseError.self) { try blocked.checkWritable() }
            try other.run("ROLLBACK")
            try blocked.checkWritable()
        }
    }

    @Test func aBackupIsAPrivateCheckedCopyThatNeverOverwrites() throws {
        try withFreshStore { store, folder in
            let alice = try aliceID(store)
            let session = try store.startSession(accountID: alice, lifetime: 4_000_000_000, brokerPath: [], source: "", now: 1_000)
            let copy = folder.file("copy.sqlite")
            let summary = try store.backup(to: copy)
            #expect(summary.accounts == 1 && summary.sessions == 1 && summary.bytes > 0)
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? Int)
            #expect(mode == 0o600)
            #expect(throws: StoreError.backupTargetExists(copy)) { try store.backup(to: copy) }

            // The copy with the key is the database: the same session's cookie.
            try store.copyServerKey(from: folder.file("pbauth.sqlite.key"), to: copy + ".key")
            let keyMode = try #require(try FileManager.default.attributesOfItem(atPath: copy + ".key")[.posixPermissions] as? Int)
            #expect(keyMode == 0o600)
            let restored = try AccountStore.open(databasePath: copy, configuration: fastConfiguration)
            defer { restored.close() }
            #expect(restored.cookie(forSessionID: session.id) == store.cookie(forSessionID: session.id))
            #expect(try restored.session(id: session.id) != nil)
        }
    }

    @Test func aKeyFromAnotherDatabaseIsNotCopied() throws {
        try withFreshStore { store, folder in
            let other = folder.file("other.sqlite")
            try AccountStore.createOrMigrate(databasePath: other, configuration: fastConfiguration).close()
            #expect(throws: StoreError.serverKeyMismatch(other + ".key")) {
                try store.copyServerKey(from: other + ".key", to: folder.file("copy.key"))
            }
            #expect(!FileManager.default.fileExists(atPath: folder.file("copy.key")))
        }
    }
}
