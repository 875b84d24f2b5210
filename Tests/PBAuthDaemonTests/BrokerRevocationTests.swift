import Banana
import Foundation
import PerspectiveBroker
import PBTestSupport
import TestSupport
import Testing

/// Broker principals on the path (protocol.md section 4.7) and admin changes that reach
/// live connections: a master, a subordinate `edge1`, a subordinate `edge3` behind it,
/// and broker principal `app` logged in as a plain PB client.
@Suite("Revocation reaches live connections", .serialized)
struct BrokerRevocationTests {
    let cluster: Cluster
    let masterPort: Int
    let edgePort: Int
    let outerPort: Int
    let appToken: String
    let edge1: RunningProcess

    /// The contract's bound on closing a revoked principal's connections is one second; the
    /// tests allow this much, for a machine busy with other work.
    static let closeBound: TimeInterval = 1.5

    init() throws {
        cluster = try Cluster()
        try cluster.addUser("alice", password: "alice password")
        let edge1Principal = try cluster.addBroker("edge1")
        let edge3Principal = try cluster.addBroker("edge3")
        appToken = try cluster.addBroker("app").token
        _ = try cluster.addBroker("spare")
        _ = try cluster.admin(["account", "disable", "spare", "--database", cluster.database])
        masterPort = try cluster.startMaster().port
        let edge = try cluster.startSubordinate(upstreamPort: masterPort, broker: "edge1", tokenFile: edge1Principal.file)
        (edge1, edgePort) = (edge.process, edge.port)
        outerPort = try cluster.startSubordinate(upstreamPort: edgePort, broker: "edge3", tokenFile: edge3Principal.file).port
    }

    /// Alice's cookie, from a password login at the master.
    func cookie() async throws -> String {
        try #require(try await Client.authenticate(masterPort, "alice", "alice password").dictionaryValue?["cookie"]?.stringValue)
    }

    /// `authenticate_account(alice, …)` with `secret` on `avatar`, with `via` when given.
    func check(_ avatar: PBRemoteReference, secret: String, via: [String]? = nil) async throws -> JellyValue {
        let challenge = Client.randomChallenge()
        var keywords = JellyDictionary()
        if let via { keywords.entries.append((key: .string("via"), value: .list(via.map { .string($0) }))) }
        return try await avatar.callRemote("authenticate_account",
                                           arguments: [.string("alice"), .bytes(challenge), .bytes(Client.response(secret: secret, challenge: challenge))],
                                           keywords: keywords)
    }

    /// Waits (bounded) until `connection` is closed; answers how long that took, or nil.
    func closed(_ connection: PBClientConnection, within limit: TimeInterval) async -> TimeInterval? {
        let start = Date()
        while Date().timeIntervalSince(start) < limit {
            if !connection.isConnected { return Date().timeIntervalSince(start) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return connection.isConnected ? nil : Date().timeIntervalSince(start)
    }

    /// Retries `body` for up to `limit` seconds until it answers true.
    func eventually(within limit: TimeInterval, _ body: () async -> Bool) async -> Bool {
        let start = Date()
        repeat {
            if await body() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        } while Date().timeIntervalSince(start) < limit
        return false
    }

    @Test func aNameOnThePathThatIsNotAnEnabledBrokerPrincipalIsRefused() async throws {
        let cookie = try await cookie()
        let (connection, app) = try await Client.login(masterPort, "app", appToken)
        defer { Task { await connection.close() } }
        #expect(try await check(app, secret: cookie).dictionaryValue?["username"]?.stringValue == "alice")
        #expect(try await check(app, secret: cookie, via: ["edge1"]).dictionaryValue?["username"]?.stringValue == "alice")
        // A user, an unknown name, a disabled principal: nobody can forge `via`.
        #expect(await remoteFailure { _ = try await check(app, secret: cookie, via: ["alice"]) }?.type == "pbauth.NoSuchAccount")
        #expect(await remoteFailure { _ = try await check(app, secret: cookie, via: ["ghost"]) }?.type == "pbauth.NoSuchAccount")
        #expect(await remoteFailure { _ = try await check(app, secret: cookie, via: ["spare"]) }?.type == "pbauth.AccountDisabled")
        #expect(await remoteFailure { _ = try await check(app, secret: cookie, via: ["edge1", "alice"]) }?.type == "pbauth.NoSuchAccount")
        // Every broker method is held to the rule, not only the check.
        let via = JellyDictionary.stringKeyed([("via", .list([.string("alice")]))])
        for (method, arguments) in [("get_account", [JellyValue.string("alice")]), ("account_status", [.string("alice")]),
                                    ("revoke_session", [.string("alice"), .string("0")])] {
            let failure = await remoteFailure { _ = try await app.callRemote(method, arguments: arguments, keywords: via) }
            #expect(failure?.type == "pbauth.NoSuchAccount", "\(method)")
        }
        #expect(try await app.callRemote("get_account", .string("alice")).dictionaryValue?["username"]?.stringValue == "alice")
        #expect(connection.isConnected)
    }

    @Test func aDisabledPrincipalIsClosedAtTheMasterAndRefusedThroughSubordinates() async throws {
        let cookie = try await cookie()
        let (atMaster, app) = try await Client.login(masterPort, "app", appToken)
        let (atEdge, appAtEdge) = try await Client.login(edgePort, "app", appToken)
        let (atOuter, appAtOuter) = try await Client.login(outerPort, "app", appToken)
        defer { Task { await atMaster.close(); await atEdge.close(); await atOuter.close() } }
        for avatar in [app, appAtEdge, appAtOuter] {
            #expect(try await check(avatar, secret: cookie).dictionaryValue?["username"]?.stringValue == "alice")
        }

        try cluster.admin(["account", "disable", "app", "--database", cluster.database])
        let took = await closed(atMaster, within: Self.closeBound)
        #expect(took != nil, "the master kept the disabled principal's connection open")
        // Its calls through either subordinate fail at once: the master sees it on the path.
        for avatar in [appAtEdge, appAtOuter] {
            #expect(await remoteFailure { _ = try await check(avatar, secret: cookie) }?.type == "pbauth.AccountDisabled")
            #expect(await remoteFailure { _ = try await avatar.callRemote("get_account", .string("alice")) }?.type == "pbauth.AccountDisabled")
        }
        #expect(await remoteFailure { _ = try await Client.login(masterPort, "app", appToken) } != nil)

        // Removed: NoSuchAccount.
        try cluster.admin(["account", "remove", "app", "--database", cluster.database])
        #expect(await eventually(within: Self.closeBound) {
            await remoteFailure { _ = try await check(appAtEdge, secret: cookie) }?.type == "pbauth.NoSuchAccount"
        })
        #expect(await remoteFailure { _ = try await check(appAtOuter, secret: cookie) }?.type == "pbauth.NoSuchAccount")
    }

    @Test func aDisabledSubordinateStopsServingAndServesAgainOnceEnabled() async throws {
        let cookie = try await cookie()
        for port in [edgePort, outerPort] {
            let (connection, _) = try await Client.login(port, "alice", cookie)
            await connection.close()
        }
        try cluster.admin(["account", "disable", "edge1", "--database", cluster.database])
        // The master closes edge1's link within the bound; edge1 cannot log in again.
        #expect(edge1.waitForLine(timeout: Self.closeBound) { $0.contains("upstream connection lost") } != nil,
                "\(edge1.standardError.suffix(5))")
        for port in [edgePort, outerPort] {
            #expect(await remoteFailure { _ = try await Client.login(port, "alice", cookie) }?.check("twisted.cred.error.UnauthorizedLogin") == true)
        }
        try cluster.admin(["account", "enable", "edge1", "--database", cluster.database])
        for port in [edgePort, outerPort] {
            #expect(await eventually(within: 20) { await remoteFailure { _ = try await Client.login(port, "alice", cookie) } == nil })
        }
    }

    @Test(arguments: [
        ["account", "passwd", "alice", "--password-stdin"],
        ["account", "disable", "alice"],
        ["session", "revoke", "alice", "--all"],
    ])
    func anAdminChangeEndsEveryCookieAtEveryBrokerAtOnce(change: [String]) async throws {
        let cookie = try await cookie()
        for port in [masterPort, edgePort, outerPort] {
            let (connection, _) = try await Client.login(port, "alice", cookie)
            await connection.close()
        }
        try cluster.admin(change + ["--database", cluster.database], input: "a new password\n")
        for port in [masterPort, edgePort, outerPort] {
            #expect(await remoteFailure { _ = try await Client.login(port, "alice", cookie) }?.check("twisted.cred.error.UnauthorizedLogin") == true)
        }
        if change[1] == "disable" { try cluster.admin(["account", "enable", "alice", "--database", cluster.database]) }
        if change[1] == "passwd" { try cluster.admin(["account", "passwd", "alice", "--password-stdin", "--database", cluster.database], input: "alice password\n") }
    }
}
