import Banana
import Foundation
import PerspectiveBroker
import PBTestSupport
import TestSupport
import Testing

/// The checker service (protocol.md section 4) at the master and at a subordinate.
@Suite("Broker avatar", .serialized)
struct BrokerAvatarTests {
    let cluster: Cluster
    let masterPort: Int
    let edgePort: Int
    let edge2Token: String

    init() throws {
        cluster = try Cluster()
        try cluster.addUser("alice", password: "alice password")
        try cluster.addUser("bob", password: "bob password")
        try cluster.addUser("carol", password: "carol password")
        let edge1 = try cluster.addBroker("edge1")
        edge2Token = try cluster.addBroker("edge2").token
        masterPort = try cluster.startMaster(extra: ["--set", "lockout_threshold=3", "--set", "lockout_seconds=600"]).port
        edgePort = try cluster.startSubordinate(upstreamPort: masterPort, broker: "edge1", tokenFile: edge1.file).port
    }

    /// Logs in as the broker principal edge2 (at the master or the subordinate).
    func brokerAvatar(_ port: Int) async throws -> (PBClientConnection, PBRemoteReference) {
        try await Client.login(port, "edge2", edge2Token)
    }

    func check(_ avatar: PBRemoteReference, _ user: String, secret: String, via: [String]? = nil) async throws -> JellyValue {
        let challenge = Client.randomChallenge()
        var keywords = JellyDictionary()
        if let via { keywords.entries.append((key: .string("via"), value: .list(via.map { .string($0) }))) }
        return try await avatar.callRemote("authenticate_account",
                                           arguments: [.string(user), .bytes(challenge), .bytes(Client.response(secret: secret, challenge: challenge))],
                                           keywords: keywords)
    }

    @Test(arguments: [false, true])
    func everyErrorTypeInTheContractsOrder(atSubordinate: Bool) async throws {
        let port = atSubordinate ? edgePort : masterPort
        let (connection, broker) = try await brokerAvatar(port)
        defer { Task { await connection.close() } }

        #expect(await remoteFailure { _ = try await check(broker, "nobody", secret: "x") }?.type == "pbauth.NoSuchAccount")
        #expect(await remoteFailure { _ = try await check(broker, "bob", secret: "x") }?.type == "pbauth.InvalidPassword")

        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "alice password").dictionaryValue?["cookie"]?.stringValue)
        let status = try #require(try await check(broker, "alice", secret: cookie).dictionaryValue)
        #expect(status["username"]?.stringValue == "alice")
        #expect(status["master"]?.boolValue == false)
        #expect(status["cookie"] == nil)
        let failure = await remoteFailure { _ = try await check(broker, "alice", secret: "not it") }
        #expect(failure?.type == "pbauth.AuthenticationCookieMismatch")
        #expect(failure?.check("twisted.cred.error.UnauthorizedLogin") == true)

        _ = try cluster.admin(["account", "disable", "carol", "--database", cluster.database])
        #expect(await remoteFailure { _ = try await check(broker, "carol", secret: "carol password") }?.type == "pbauth.AccountDisabled")
    }

    @Test func lockoutRefusesPasswordsButCookiesKeepWorking() async throws {
        let (connection, broker) = try await brokerAvatar(masterPort)
        defer { Task { await connection.close() } }
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "alice password").dictionaryValue?["cookie"]?.stringValue)
        // Wrong cookies are never counted (they cannot be guessed) ...
        for _ in 0..<5 {
            #expect(await remoteFailure { _ = try await check(broker, "alice", secret: "guess") }?.type == "pbauth.AuthenticationCookieMismatch")
        }
        #expect(try await broker.callRemote("account_status", .string("alice")).dictionaryValue?["locked"]?.boolValue == false)
        // ... wrong passwords are: three lock the account.
        for _ in 0..<3 {
            _ = await remoteFailure { _ = try await Client.authenticate(masterPort, "alice", "a guess") }
        }
        #expect(await remoteFailure { _ = try await check(broker, "alice", secret: "guess") }?.type == "pbauth.LockedOut")
        // The right password is refused too while the lock lasts ...
        let refused = await remoteFailure { _ = try await Client.authenticate(masterPort, "alice", "alice password") }
        #expect(refused?.type == "twisted.cred.error.UnauthorizedLogin")
        // ... but the live cookie still works, at the master and through the subordinate.
        #expect(try await check(broker, "alice", secret: cookie).dictionaryValue?["username"]?.stringValue == "alice")
        let (userConnection, _) = try await Client.login(edgePort, "alice", cookie)
        await userConnection.close()
        let status = try #require(try await broker.callRemote("account_status", .string("alice")).dictionaryValue)
        #expect(status["locked"]?.boolValue == true)
    }

    /// Repeated checks of one cookie are answered from what the first read (no database
    /// thread): the same answer each time, until an admin's change in another process.
    @Test(arguments: [false, true])
    func repeatedChecksAnswerAlikeUntilAnAdminsChange(atSubordinate: Bool) async throws {
        let (connection, broker) = try await brokerAvatar(atSubordinate ? edgePort : masterPort)
        defer { Task { await connection.close() } }
        let login = try #require(try await Client.authenticate(masterPort, "carol", "carol password").dictionaryValue)
        let cookie = try #require(login["cookie"]?.stringValue)
        let first = try #require(try await check(broker, "carol", secret: cookie).dictionaryValue)
        for _ in 0..<20 {
            let status = try #require(try await check(broker, "carol", secret: cookie).dictionaryValue)
            // `expires` may move on with the idle limit; the rest is the same answer.
            for key in ["username", "kind", "master", "session"] { #expect(status[key] == first[key]) }
            #expect(status.entries.count == first.entries.count && status["cookie"] == nil)
        }
        #expect(await remoteFailure { _ = try await check(broker, "carol", secret: "not it") }?.type == "pbauth.AuthenticationCookieMismatch")

        let session = try #require(login["session"]?.stringValue)
        _ = try cluster.admin(["session", "revoke", "carol", "--session", session, "--database", cluster.database])
        #expect(await remoteFailure { _ = try await check(broker, "carol", secret: cookie) }?.type == "pbauth.InvalidPassword")

        let again = try #require(try await Client.authenticate(masterPort, "carol", "carol password").dictionaryValue?["cookie"]?.stringValue)
        _ = try await check(broker, "carol", secret: again)
        _ = try await check(broker, "carol", secret: again)
        _ = try cluster.admin(["account", "disable", "carol", "--database", cluster.database])
        let f = await remoteFailure { _ = try await check(broker, "carol", secret: again) }
        #expect(f?.type == "pbauth.AccountDisabled")
        print("DEBUG failure", String(describing: f))
        for p in cluster.processes { print("DEBUG", p.standardError.suffix(30).joined(separator: "\n")) }
    }

    @Test func accountFactsAndRevocation() async throws {
        let (connection, broker) = try await brokerAvatar(edgePort)
        defer { Task { await connection.close() } }
        let first = try #require(try await Client.authenticate(masterPort, "alice", "alice password").dictionaryValue)
        _ = try await Client.authenticate(masterPort, "alice", "alice password")

        let account = try #require(try await broker.callRemote("get_account", .string("alice")).dictionaryValue)
        #expect(account["username"]?.stringValue == "alice")
        #expect(account["disabled"]?.boolValue == false)
        #expect((account["created"]?.intValue ?? 0) > 0)
        #expect(account["last_login"]?.intValue != nil)
        #expect(account.entries.count == 4)

        let status = try #require(try await broker.callRemote("account_status", .string("alice")).dictionaryValue)
        #expect(status["live_sessions"]?.intValue == 2)
        #expect(status["locked"]?.boolValue == false)

        let session = try #require(first["session"]?.stringValue)
        let cookie = try #require(first["cookie"]?.stringValue)
        #expect(try await broker.callRemote("revoke_session", .string("alice"), .string(session)) == .none)
        #expect(try await broker.callRemote("account_status", .string("alice")).dictionaryValue?["live_sessions"]?.intValue == 1)
        #expect(await remoteFailure { _ = try await Client.login(edgePort, "alice", cookie) } != nil)
        #expect(await remoteFailure { _ = try await broker.callRemote("get_account", .string("nobody")) }?.type == "pbauth.NoSuchAccount")
    }

    @Test func hopLimitAndLoopGuardAtTheSubordinate() async throws {
        let (connection, broker) = try await brokerAvatar(edgePort)
        defer { Task { await connection.close() } }
        let long = (1...8).map { "hop\($0)" }
        #expect(await remoteFailure { _ = try await check(broker, "alice", secret: "x", via: long) }?.type == "pbauth.HopLimitExceeded")
        #expect(await remoteFailure { _ = try await check(broker, "alice", secret: "x", via: ["edge1", "edge2"]) }?.type == "pbauth.HopLimitExceeded")
        // A short path passes through to the master, which refuses a name on it that is not
        // a broker principal: nobody can forge `via`.
        #expect(await remoteFailure { _ = try await check(broker, "alice", secret: "x", via: ["far"]) }?.type == "pbauth.NoSuchAccount")
    }

    @Test func badInputIsAnsweredAndTheConnectionSurvives() async throws {
        let (connection, broker) = try await brokerAvatar(masterPort)
        defer { Task { await connection.close() } }
        #expect(await remoteFailure { _ = try await broker.callRemote("no_such_method") }?.check("builtins.AttributeError") == true)
        #expect(await remoteFailure { _ = try await broker.callRemote("get_account") }?.check("builtins.TypeError") == true)
        #expect(await remoteFailure { _ = try await broker.callRemote("get_account", .int(5)) }?.check("builtins.TypeError") == true)
        #expect(await remoteFailure {
            _ = try await broker.callRemote("authenticate_account", .string("alice"), .list([]), .bytes([1]))
        }?.check("builtins.TypeError") == true)
        #expect(await remoteFailure { _ = try await check(broker, "alice", secret: "x", via: ["bad\nname"]) }?.check("builtins.TypeError") == true)
        #expect(await remoteFailure {
            _ = try await check(broker, "alice", secret: "x", via: (1...20).map { "hop\($0)" })
        }?.type == "pbauth.HopLimitExceeded")
        #expect(try await broker.callRemote("get_account", .string("alice")).dictionaryValue != nil)
    }

    @Test func anOversizedStringClosesOnlyThatConnection() async throws {
        let (connection, broker) = try await brokerAvatar(masterPort)
        // Raw bytes: our own encoder refuses such a string before it leaves. Dialect "pb",
        // then a list holding a STRING whose length prefix says 655,361 bytes.
        let oversized: [UInt8] = [0x02, 0x82, 0x70, 0x62, 0x01, 0x80, 0x01, 0x00, 0x28, 0x82]
        #expect(try await RawPeer.serverCloses(port: masterPort, after: oversized))
        // The broker connected before the hostile peer is still served.
        #expect(try await broker.callRemote("get_account", .string("alice")).dictionaryValue != nil)
        await connection.close()
        let (next, nextBroker) = try await brokerAvatar(masterPort)
        #expect(try await nextBroker.callRemote("get_account", .string("alice")).dictionaryValue != nil)
        await next.close()
    }

    @Test func aClientThatLeavesMidLoginLosesNothing() async throws {
        for _ in 0..<5 {
            let connection = try await Client.connect(masterPort)
            _ = try await connection.root.callRemote("login", .bytes(Array("alice".utf8)))
            await connection.close()
        }
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "alice password").dictionaryValue?["cookie"]?.stringValue)
        let (connection, _) = try await Client.login(edgePort, "alice", cookie)
        await connection.close()
    }
}
