@testable import AccountStore
import Crypto
import Foundation
import Testing
import StoreTestSupport
import TestSupport

@Suite struct AccountStoreTests {
    let password = Array("s3cret-Passw0rd".utf8)

    @Test func usersAndBrokersAreAddedListedAndRemoved() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "alice", password: password, now: 1_000)
            let token = try store.addBroker(name: "edge-1", now: 1_001)
            #expect(token.utf8.count == 43, "256 bits as base64url without padding")
            let accounts = try store.listAccounts()
            #expect(accounts.map(\.name) == ["alice", "edge-1"])
            #expect(accounts.map(\.kind) == [.user, .broker])
            let alice = try #require(try store.account(named: "alice"))
            #expect(alice.created == 1_000 && !alice.disabled && alice.lastLogin == nil && alice.failedAttempts == 0)
            try store.removeAccount(name: "alice")
            #expect(try store.account(named: "alice") == nil)
            #expect(throws: StoreError.noSuchAccount("alice")) { try store.removeAccount(name: "alice") }
        }
    }

    @Test func duplicatesAreRefused() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "bob", password: password)
            #expect(throws: StoreError.duplicateAccount("bob")) { try store.addUser(name: "bob", password: password) }
            #expect(throws: StoreError.duplicateAccount("bob")) { try store.addBroker(name: "bob") }
        }
    }

    @Test(arguments: ["", "with space", "tab\there", "new\nline", "bell\u{7}", "ünïcode", "slash/", "colon:",
                      String(repeating: "a", count: 65)])
    func invalidNamesAreRefused(name: String) throws {
        try withFreshStore { store, _ throws in
            #expect(throws: StoreError.invalidAccountName(name)) { try store.addUser(name: name, password: password) }
            #expect(throws: StoreError.invalidAccountName(name)) { try store.addBroker(name: name) }
            #expect(!"\(StoreError.invalidAccountName(name))".contains("\n"))
        }
    }

    @Test func theLongestAndOddestValidNamesAreAccepted() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: String(repeating: "a", count: 64), password: password)
            try store.addUser(name: "A.b_c-d@e9", password: password)
            #expect(try store.listAccounts().count == 2)
        }
    }

    @Test func emptyAndOverlongPasswordsAreRefused() throws {
        try withFreshStore { store, _ throws in
            #expect(throws: StoreError.emptyPassword) { try store.addUser(name: "carol", password: []) }
            #expect(throws: StoreError.passwordTooLong(maximum: 1024)) {
                try store.addUser(name: "carol", password: Array(repeating: 65, count: 1025))
            }
            #expect(try store.account(named: "carol") == nil)
        }
    }

    @Test func passwordsVerifyAndAreStoredOnlyAsScrypt() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "dave", password: password)
            let dave = try #require(try store.account(named: "dave"))
            #expect(try store.verifyPassword(accountID: dave.id, password: password))
            #expect(try !store.verifyPassword(accountID: dave.id, password: Array("wrong".utf8)))
            #expect(try !store.verifyPassword(accountID: dave.id, password: []))
            #expect(try !store.verifyPassword(accountID: 9_999, password: password))
            let stored = try store.database.queryFirst("SELECT password_hash FROM accounts WHERE id = ?1", .integer(dave.id)) { $0.text(0) }
            #expect(stored?.hasPrefix("$scrypt$ln=4,r=8,p=1$") == true)
        }
    }

    @Test func aHashWithOlderParametersIsReplacedAtTheNextSuccessfulCheck() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("pbauth.sqlite")
        let old = try AccountStore.createOrMigrate(databasePath: db, configuration: StoreConfiguration(scrypt: ScryptParameters(logN: 3, r: 4, p: 1)))
        try old.addUser(name: "erin", password: password)
        old.close()
        let store = try AccountStore.open(databasePath: db, configuration: fastConfiguration)
        defer { store.close() }
        let erin = try #require(try store.account(named: "erin"))
        func storedHash() throws -> String? {
            try store.database.queryFirst("SELECT password_hash FROM accounts WHERE id = ?1", .integer(erin.id)) { $0.text(0) }
        }
        let before = try storedHash()
        #expect(before?.hasPrefix("$scrypt$ln=3,r=4,p=1$") == true)
        #expect(try !store.verifyPassword(accountID: erin.id, password: Array("nope".utf8)))
        #expect(try storedHash() == before, "a failed check changes nothing")
        #expect(try store.verifyPassword(accountID: erin.id, password: password))
        #expect(try storedHash()?.hasPrefix("$scrypt$ln=4,r=8,p=1$") == true)
        #expect(try store.verifyPassword(accountID: erin.id, password: password))
    }

    @Test func disablingAndPasswordChangesRevokeAllSessions() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "frank", password: password)
            let frank = try #require(try store.account(named: "frank"))
            for _ in 0..<3 { _ = try store.startSession(accountID: frank.id, lifetime: 100, brokerPath: [], source: "", now: 10) }
            #expect(try store.liveSessions(accountID: frank.id, now: 20, idleLimit: nil).count == 3)
            try store.setDisabled(true, name: "frank")
            #expect(try store.account(named: "frank")?.disabled == true)
            #expect(try store.liveSessions(accountID: frank.id, now: 20, idleLimit: nil).isEmpty)
            try store.setDisabled(false, name: "frank")
            #expect(try store.account(named: "frank")?.disabled == false)

            _ = try store.startSession(accountID: frank.id, lifetime: 100, brokerPath: [], source: "", now: 10)
            let newPassword = Array("another one".utf8)
            try store.setPassword(name: "frank", password: newPassword)
            #expect(try store.liveSessions(accountID: frank.id, now: 20, idleLimit: nil).isEmpty)
            #expect(try store.verifyPassword(accountID: frank.id, password: newPassword))
            #expect(try !store.verifyPassword(accountID: frank.id, password: password))
            #expect(throws: StoreError.noSuchAccount("nobody")) { try store.setDisabled(true, name: "nobody") }
            #expect(throws: StoreError.noSuchAccount("nobody")) { try store.setPassword(name: "nobody", password: newPassword) }
        }
    }

    @Test func everyAdminChangeMovesTheCredentialsVersionOn() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "gus", password: password)
            var seen: [Int64] = [try #require(try store.account(named: "gus")).credentialsVersion]
            func changed(_ what: String) throws {
                let version = try #require(try store.account(named: "gus")).credentialsVersion
                #expect(version > seen.last!, "\(what) did not move the version on")
                seen.append(version)
            }
            let gus = try #require(try store.account(named: "gus"))
            try store.setDisabled(true, name: "gus")
            try changed("disable")
            try store.setDisabled(false, name: "gus")
            try changed("enable")
            try store.setPassword(name: "gus", password: Array("new one".utf8))
            try changed("passwd")
            try store.revokeAllSessions(accountID: gus.id)
            try changed("revoke all")
            // What a login does is no admin change.
            _ = try store.startSession(accountID: gus.id, lifetime: 100, brokerPath: [], source: "", now: 10)
            #expect(try store.reservePasswordAttempt(accountID: gus.id, now: 10, threshold: 10))
            try store.settlePasswordAttempt(accountID: gus.id, correct: true, now: 10, threshold: 10, lockSeconds: 60)
            #expect(try store.account(id: gus.id)?.credentialsVersion == seen.last)
        }
    }

    @Test func theCookieCheckReadsTheAccountAndItsLiveSessionsTogether() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "ivy", password: password)
            try store.addUser(name: "jo", password: password)
            let ivy = try #require(try store.account(named: "ivy"))
            let live = try store.startSession(accountID: ivy.id, lifetime: 1_000, brokerPath: [], source: "", now: 100)
            let revoked = try store.startSession(accountID: ivy.id, lifetime: 1_000, brokerPath: [], source: "", now: 100)
            _ = try store.startSession(accountID: ivy.id, lifetime: 10, brokerPath: [], source: "", now: 100)
            #expect(try store.revokeSession(id: revoked.id))
            try store.touchSessions([(sessionID: live.id, at: 400)])

            let found = try #require(try store.accountWithLiveSessions(named: "ivy", now: 600))
            #expect(found.account == ivy)
            #expect(found.sessions == [LiveSession(id: live.id, expires: 1_100, lastSeen: 400)])
            let jo = try #require(try store.accountWithLiveSessions(named: "jo", now: 600))
            #expect(jo.account.name == "jo" && jo.sessions.isEmpty)
            #expect(try store.accountWithLiveSessions(named: "nobody", now: 600) == nil)
        }
    }

    @Test func liveSessionsLeaveOutRevokedExpiredAndIdleOnes() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "gina", password: password)
            try store.addUser(name: "hal", password: password)
            let gina = try #require(try store.account(named: "gina"))
            let hal = try #require(try store.account(named: "hal"))
            let live = try store.startSession(accountID: gina.id, lifetime: 1_000, brokerPath: ["edge-2", "edge-1"], source: "10.0.0.7:5000", now: 100)
            let revoked = try store.startSession(accountID: gina.id, lifetime: 1_000, brokerPath: [], source: "", now: 100)
            _ = try store.startSession(accountID: gina.id, lifetime: 10, brokerPath: [], source: "", now: 100)
            let idle = try store.startSession(accountID: gina.id, lifetime: 1_000, brokerPath: [], source: "", now: 100)
            _ = try store.startSession(accountID: hal.id, lifetime: 1_000, brokerPath: [], source: "", now: 100)
            #expect(try store.revokeSession(id: revoked.id))
            #expect(try !store.revokeSession(id: revoked.id))
            try store.touchSessions([(sessionID: live.id, at: 500), (sessionID: idle.id, at: 150)])

            let all = try store.liveSessions(accountID: gina.id, now: 600, idleLimit: nil)
            #expect(Set(all.map(\.id)) == [live.id, idle.id])
            let fresh = try store.liveSessions(accountID: gina.id, now: 600, idleLimit: 300)
            #expect(fresh.map(\.id) == [live.id])
            let record = try #require(fresh.first)
            #expect(record.brokerPath == ["edge-2", "edge-1"])
            #expect(record.source == "10.0.0.7:5000")
            #expect(record.created == 100 && record.expires == 1_100 && record.lastSeen == 500 && !record.revoked)
            #expect(try store.session(id: revoked.id)?.revoked == true)
            #expect(try store.session(id: "nope") == nil)
            #expect(try store.liveSessions(accountID: gina.id, now: 1_100, idleLimit: nil).isEmpty, "expires is exclusive")
            #expect(try store.revokeAllSessions(accountID: gina.id) == 3)
            #expect(try store.liveSessions(accountID: hal.id, now: 600, idleLimit: nil).count == 1)
        }
    }

    @Test func theLiveSessionReadUsesTheIndex() throws {
        try withFreshStore { store, _ throws in
            let plan = try store.database.query(
                "EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE account_id = ?1 AND revoked = 0 AND expires > ?2 AND last_seen > ?3",
                .integer(1), .integer(2), .integer(3)) { $0.text(3) }
            #expect(plan.contains { $0.contains("sessions_live_by_account") }, "\(plan)")
        }
    }

    @Test func sessionOriginsAreBounded() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "ivy", password: password)
            let ivy = try #require(try store.account(named: "ivy"))
            #expect(throws: StoreError.self) {
                try store.startSession(accountID: ivy.id, lifetime: 1, brokerPath: ["bad\u{1F}name"], source: "", now: 0)
            }
            #expect(throws: StoreError.self) {
                try store.startSession(accountID: ivy.id, lifetime: 1, brokerPath: Array(repeating: "b", count: 17), source: "", now: 0)
            }
            #expect(throws: StoreError.self) {
                try store.startSession(accountID: ivy.id, lifetime: 1, brokerPath: [], source: "x\ny", now: 0)
            }
            #expect(throws: StoreError.noSuchAccount("#424242")) {
                try store.startSession(accountID: 424_242, lifetime: 1, brokerPath: [], source: "", now: 0)
            }
        }
    }

    @Test func cookiesAreDerivedFromTheSessionIdAndTheKey() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "jo", password: password)
            let jo = try #require(try store.account(named: "jo"))
            let started = try store.startSession(accountID: jo.id, lifetime: 60, brokerPath: [], source: "", now: 0)
            #expect(started.id.count == 32)
            #expect(started.cookie.utf8.count == 43)
            #expect(store.cookie(forSessionID: started.id) == started.cookie)
            #expect(store.md5CookieVerifier(forSessionID: started.id) == Array(Insecure.MD5.hash(data: Array(started.cookie.utf8))))
            let other = try store.startSession(accountID: jo.id, lifetime: 60, brokerPath: [], source: "", now: 0)
            #expect(other.cookie != started.cookie)
        }
    }

    @Test func brokerTokenVerifierIsMD5OfTheToken() throws {
        try withFreshStore { store, _ throws in
            let token = try store.addBroker(name: "edge-9")
            try store.addUser(name: "kim", password: password)
            let broker = try #require(try store.account(named: "edge-9"))
            let kim = try #require(try store.account(named: "kim"))
            #expect(try store.brokerTokenVerifier(accountID: broker.id) == Array(Insecure.MD5.hash(data: Array(token.utf8))))
            #expect(try store.brokerTokenVerifier(accountID: kim.id) == nil)
            #expect(throws: StoreError.wrongKind(name: "edge-9", expected: .user)) {
                try store.setPassword(name: "edge-9", password: password)
            }
        }
    }

    @Test func pbPasswordVerifiersExistOnlyWhileTheSettingIsOn() throws {
        try withFreshStore { store, _ throws in
            #expect(try !store.pbPasswordLoginEnabled())
            try store.addUser(name: "lee", password: password)
            let lee = try #require(try store.account(named: "lee"))
            #expect(try store.pbPasswordVerifier(accountID: lee.id) == nil)

            try store.setPBPasswordLogin(enabled: true)
            #expect(try store.pbPasswordLoginEnabled())
            #expect(try store.pbPasswordVerifier(accountID: lee.id) == nil, "no verifier until the password is seen again")
            #expect(try store.verifyPassword(accountID: lee.id, password: password))
            let md5 = Array(Insecure.MD5.hash(data: password))
            #expect(try store.pbPasswordVerifier(accountID: lee.id) == md5)
            try store.addUser(name: "max", password: Array("pw-of-max".utf8))
            let max = try #require(try store.account(named: "max"))
            #expect(try store.pbPasswordVerifier(accountID: max.id) == Array(Insecure.MD5.hash(data: Array("pw-of-max".utf8))))

            try store.setPBPasswordLogin(enabled: false)
            #expect(try store.pbPasswordVerifier(accountID: lee.id) == nil)
            let sealedCount = try store.database.queryFirst("SELECT count(*) FROM accounts WHERE sealed_pb_verifier IS NOT NULL") { $0.int64(0) }
            #expect(sealedCount == 0)
        }
    }

    @Test func aGuessTakesItsPlaceBeforeItIsCheckedAndALockEndsCleanly() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "ned", password: password)
            let ned = try #require(try store.account(named: "ned"))
            // Three places; the fourth guess is refused before anything is checked.
            for attempt in 1...3 {
                #expect(try store.reservePasswordAttempt(accountID: ned.id, now: 1_000, threshold: 3), "attempt \(attempt)")
            }
            #expect(try !store.reservePasswordAttempt(accountID: ned.id, now: 1_000, threshold: 3))
            // The first wrong one with all places taken locks, for 900 s; the others leave the lock as it is.
            #expect(try store.settlePasswordAttempt(accountID: ned.id, correct: false, now: 1_000, threshold: 3, lockSeconds: 900))
            #expect(try store.settlePasswordAttempt(accountID: ned.id, correct: false, now: 1_010, threshold: 3, lockSeconds: 900))
            #expect(try store.settlePasswordAttempt(accountID: ned.id, correct: false, now: 1_020, threshold: 3, lockSeconds: 900))
            let locked = try #require(try store.account(named: "ned"))
            #expect(locked.failedAttempts == 3 && locked.lockedUntil == 1_900)
            #expect(locked.isLocked(now: 1_899) && !locked.isLocked(now: 1_900))
            #expect(try !store.reservePasswordAttempt(accountID: ned.id, now: 1_899, threshold: 3))
            // When the lock ends, counting starts again with the next guess.
            #expect(try store.reservePasswordAttempt(accountID: ned.id, now: 1_900, threshold: 3))
            let restarted = try #require(try store.account(named: "ned"))
            #expect(restarted.failedAttempts == 1 && restarted.lockedUntil == nil)
            // A right guess clears the count.
            try store.settlePasswordAttempt(accountID: ned.id, correct: true, now: 1_900, threshold: 3, lockSeconds: 900)
            try store.recordLogin(accountID: ned.id, now: 2_000)
            let after = try #require(try store.account(named: "ned"))
            #expect(after.failedAttempts == 0 && after.lockedUntil == nil && after.lastLogin == 2_000)
            // Broker principals take no places: they are never locked out.
            _ = try store.addBroker(name: "edge")
            let edge = try #require(try store.account(named: "edge"))
            #expect(try !store.reservePasswordAttempt(accountID: edge.id, now: 1_000, threshold: 3))
        }
    }

    /// The flush writes its rows with multi-row INSERTs (64, 8, then 1 at a time): every row
    /// arrives, in order, with each field where it belongs, whatever the count.
    @Test(arguments: [1, 7, 8, 9, 64, 65, 137])
    func manyAuditRowsAtOnceArriveWholeAndInOrder(count: Int) throws {
        try withFreshStore { store, _ throws in
            let entries = (0..<count).map { (number: Int) -> AuditEntry in
                let account: String? = number % 3 == 0 ? nil : "u\(number)"
                let reason: String? = number % 5 == 0 ? nil : "r\(number)"
                let path: [String] = number % 4 == 0 ? ["e\(number)", "f"] : []
                let outcome = number % 2 == 0 ? "success" : "failure"
                return AuditEntry(time: Int64(number), actor: "master", action: "authenticate_account", account: account,
                                  outcome: outcome, reason: reason, brokerPath: path, source: "10.0.0.\(number % 250):1")
            }
            try store.appendAudit(entries)
            let written = try store.auditEntries()
            #expect(written.count == count)
            #expect(written.map(\.time) == entries.map(\.time))
            #expect(written.map(\.account) == entries.map(\.account) && written.map(\.reason) == entries.map(\.reason))
            #expect(written.map(\.brokerPath) == entries.map(\.brokerPath) && written.map(\.source) == entries.map(\.source))
            #expect(written.map(\.outcome) == entries.map(\.outcome) && written.allSatisfy { $0.actor == "master" })
        }
    }

    @Test func theAuditLogIsAppendOnlyAndOrdered() throws {
        try withFreshStore { store, _ throws in
            for number in 0..<5 {
                try store.appendAudit(AuditEntry(time: Int64(number), actor: "admin:test", action: "account.add", account: "u\(number)",
                                                 outcome: "success", brokerPath: number == 4 ? ["a", "b"] : [], source: "127.0.0.1"))
            }
            let migrateEntries = try store.auditEntries().filter { $0.action == "migrate" }
            #expect(migrateEntries.isEmpty, "createOrMigrate records no actor")
            #expect(try store.auditEntries().map(\.time) == [0, 1, 2, 3, 4])
            #expect(try store.auditEntries(limit: 2).map(\.time) == [3, 4])
            #expect(try store.auditEntries(limit: 1).first?.brokerPath == ["a", "b"])
            #expect(throws: DatabaseError.self) { try store.database.run("UPDATE audit_log SET outcome = 'refused'") }
            #expect(throws: DatabaseError.self) { try store.database.run("DELETE FROM audit_log") }
            #expect(try store.auditEntries().count == 5)
        }
    }

    @Test func removingAnAccountRemovesItsSessions() throws {
        try withFreshStore { store, _ throws in
            try store.addUser(name: "olga", password: password)
            let olga = try #require(try store.account(named: "olga"))
            let started = try store.startSession(accountID: olga.id, lifetime: 60, brokerPath: [], source: "", now: 0)
            try store.removeAccount(name: "olga")
            #expect(try store.session(id: started.id) == nil)
        }
    }
}
