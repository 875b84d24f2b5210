@testable import AccountStore
import Crypto
import Foundation
import Testing
import StoreTestSupport
import TestSupport

@Suite struct ServerKeyTests {
    let password = Array("pa55-w0rd-for-the-copy".utf8)

    @Test func theKeyFileIsCreatedOnFirstUseWithMode0600() throws {
        try withFreshStore { _, folder throws in
            let path = folder.file("pbauth.sqlite.key")
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect((attributes[.size] as? NSNumber)?.intValue == 32)
        }
    }

    @Test func aNewDatabaseFileIsReadableByItsOwnerOnly() throws {
        try withFreshStore { _, folder throws in
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.file("pbauth.sqlite"))
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
    }

    @Test func concurrentFirstUsesAgreeOnOneKey() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.file("race.key")
        let keys = KeyBox()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            if let key = try? ServerKey.load(path: path, create: true) {
                keys.add(key.key.withUnsafeBytes { Array($0) })
            }
        }
        #expect(keys.all.count == 6)
        #expect(Set(keys.all).count == 1)
    }

    @Test func aKeyReadableByOthersIsRefused() throws {
        try withFreshStore { _, folder throws in
            let path = folder.file("pbauth.sqlite.key")
            chmod(path, 0o644)
            #expect(throws: StoreError.serverKeyExposed(path, mode: 0o644)) {
                try AccountStore.open(databasePath: folder.file("pbauth.sqlite"), configuration: fastConfiguration)
            }
        }
    }

    @Test func aCopyOfTheDatabaseWithoutItsKeyYieldsNoUsableSecret() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("pbauth.sqlite")
        let store = try AccountStore.createOrMigrate(databasePath: db, configuration: fastConfiguration)
        try store.setPBPasswordLogin(enabled: true)
        try store.addUser(name: "pat", password: password)
        let token = try store.addBroker(name: "edge-7")
        let pat = try #require(try store.account(named: "pat"))
        let session = try store.startSession(accountID: pat.id, lifetime: 3_600, brokerPath: [], source: "", now: 0)
        let verifier = try #require(try store.pbPasswordVerifier(accountID: pat.id))
        store.close()

        // What an attacker has: the database's bytes alone.
        let copyFolder = try TemporaryDirectory()
        defer { copyFolder.remove() }
        let copy = copyFolder.file("stolen.sqlite")
        try FileManager.default.copyItem(atPath: db, toPath: copy)
        let bytes = fileBytes(copy)
        #expect(bytes.count > 0)
        let secrets: [(String, [UInt8])] = [
            ("password", password),
            ("cookie", Array(session.cookie.utf8)),
            ("md5(cookie)", Array(Insecure.MD5.hash(data: Array(session.cookie.utf8)))),
            ("md5(cookie) hex", Array(hex(Array(Insecure.MD5.hash(data: Array(session.cookie.utf8)))).utf8)),
            ("token", Array(token.utf8)),
            ("md5(token)", Array(Insecure.MD5.hash(data: Array(token.utf8)))),
            ("md5(password)", verifier),
            ("md5(password) hex", Array(hex(verifier).utf8)),
        ]
        for (what, secret) in secrets {
            #expect(!bytes.contains(subsequence: secret), "the database file holds the \(what)")
        }

        // Opening the copy without the key is refused; with a new key it is refused too.
        #expect(throws: StoreError.serverKeyMissing(copy + ".key")) {
            try AccountStore.open(databasePath: copy, configuration: fastConfiguration)
        }
        let otherKey = copyFolder.file("other.key")
        _ = try ServerKey.load(path: otherKey, create: true)
        #expect(throws: StoreError.serverKeyMismatch(otherKey)) {
            try AccountStore.open(databasePath: copy, keyPath: otherKey, configuration: fastConfiguration)
        }

        // Even bypassing that check, another key derives other cookies and tokens and opens no verifier.
        let database = try Database(path: copy, create: false, busyTimeoutMilliseconds: 1_000)
        defer { database.close() }
        let guess = SecretDerivation(serverKey: try ServerKey.load(path: otherKey, create: false))
        #expect(guess.cookie(sessionID: session.id) != session.cookie)
        let salt = try #require(try database.queryFirst("SELECT token_salt FROM accounts WHERE name = 'edge-7'") { $0.blob(0) } ?? nil)
        #expect(guess.brokerToken(name: "edge-7", salt: salt) != token)
        let sealed = try #require(try database.queryFirst("SELECT sealed_pb_verifier FROM accounts WHERE name = 'pat'") { $0.blob(0) } ?? nil)
        #expect(guess.open(sealed: sealed, accountID: pat.id) == nil)

        // With the right key the copy works: the secrets are derived, not stored.
        try FileManager.default.copyItem(atPath: db + ".key", toPath: copy + ".key")
        let restored = try AccountStore.open(databasePath: copy, configuration: fastConfiguration)
        defer { restored.close() }
        #expect(restored.cookie(forSessionID: session.id) == session.cookie)
        #expect(try restored.pbPasswordVerifier(accountID: pat.id) == verifier)
    }

    @Test func aSealedVerifierDoesNotOpenForAnotherAccount() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let derivation = SecretDerivation(serverKey: try ServerKey.load(path: folder.file("k.key"), create: true))
        let sealed = try derivation.seal(verifier: [1, 2, 3], accountID: 1)
        #expect(derivation.open(sealed: sealed, accountID: 1) == [1, 2, 3])
        #expect(derivation.open(sealed: sealed, accountID: 2) == nil)
    }
}

final class KeyBox: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [[UInt8]] = []
    func add(_ key: [UInt8]) { lock.withLock { keys.append(key) } }
    var all: [[UInt8]] { lock.withLock { keys } }
}
