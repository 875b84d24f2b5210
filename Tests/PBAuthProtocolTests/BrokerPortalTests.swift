import Banana
import Logging
import NIOPosix
import PBAuthProtocol
import PBTestSupport
import PerspectiveBroker
import Synchronization
import Testing

/// A checker that knows alice's cookie and broker edge1's token, and records what it was asked.
final class FakeChecker: Checker {
    let askedVia = Mutex<[[String]]>([])
    let overloaded = Atomic<Bool>(false)

    func authenticateAccount(username: String, challenge: [UInt8], response: [UInt8], via: [String], source: String) async throws -> AuthenticationStatus {
        askedVia.withLock { $0.append(via) }
        if overloaded.load(ordering: .relaxed) { throw AuthenticationFailure.overloaded }
        let secrets = ["alice": "cookie-of-alice", "edge1": "token-of-edge1"]
        guard let secret = secrets[username] else { throw AuthenticationFailure.noSuchAccount }
        guard PBLoginChallenge.constantTimeEquals(response, PBLoginChallenge.response(secret: Array(secret.utf8), challenge: challenge)) else {
            throw AuthenticationFailure.authenticationCookieMismatch
        }
        return username == "edge1"
            ? AuthenticationStatus(username: "edge1", kind: .broker, master: false, session: "", expires: 0)
            : AuthenticationStatus(username: "alice", kind: .user, master: false, session: "s1", expires: 99)
    }

    func getAccount(username: String, via: [String]) async throws -> JellyValue { .string(username) }
    func accountStatus(username: String, via: [String]) async throws -> JellyValue { .string(username) }
    func revokeSession(username: String, session: String, via: [String]) async throws {}
}

/// pbauth's portal and avatars over a real PB server, with a fake checker: what any pbauth
/// broker serves, whatever its checker.
@Suite("The broker portal and its avatars")
struct BrokerPortalTests {
    static func serve(_ checker: FakeChecker) async throws -> (PBServer, Int) {
        let server = PBServer(configuration: PBServerConfiguration(), group: MultiThreadedEventLoopGroup.singleton,
                              logger: Logger(label: "test.portal")) { _ in
            BrokerPortal.root(checker: checker, logger: Logger(label: "test.portal"))
        }
        return (server, try await server.start())
    }

    @Test func aUserGetsAUserAvatarAndEveryRefusalLooksTheSame() async throws {
        let checker = FakeChecker()
        let (server, port) = try await Self.serve(checker)
        let connection = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
        let avatar = try await connection.login(username: Array("alice".utf8), secret: Array("cookie-of-alice".utf8))
        let whoami = try #require(try await avatar.callRemote("whoami").dictionaryValue)
        #expect(whoami["username"]?.stringValue == "alice" && whoami["session"]?.stringValue == "s1" && whoami["cookie"] == nil)
        // A user avatar does not answer the broker methods.
        let notBroker = await remoteFailure { try await avatar.callRemote("account_status", .string("alice")) }
        #expect(notBroker?.check("builtins.AttributeError") == true)
        for (name, secret) in [("alice", "wrong"), ("nobody", "x")] {
            let other = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
            let refused = await remoteFailure { try await other.login(username: Array(name.utf8), secret: Array(secret.utf8)) }
            #expect(refused?.type == "twisted.cred.error.UnauthorizedLogin" && refused?.value == "")
            await other.close()
        }
        await connection.close()
        await server.stop(gracePeriod: .seconds(1))
    }

    @Test func aBrokerGetsABrokerAvatarWhoseFailuresArePrecise() async throws {
        let checker = FakeChecker()
        let (server, port) = try await Self.serve(checker)
        let connection = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
        let avatar = try await connection.login(username: Array("edge1".utf8), secret: Array("token-of-edge1".utf8))
        #expect(try await avatar.callRemote("ping") == .none)
        let challenge = PBLoginChallenge.makeChallenge()
        let response = PBLoginChallenge.response(secret: Array("cookie-of-alice".utf8), challenge: challenge)
        let status = try await avatar.callRemote("authenticate_account", arguments: [.string("alice"), .bytes(challenge), .bytes(response)],
                                                 keywords: ["via": ["edge2"]])
        #expect(AuthenticationStatus(jellyValue: status)?.username == "alice")
        // The caller is appended to the path it was given.
        #expect(checker.askedVia.withLock { $0.last } == ["edge2", "edge1"])
        let unknown = await remoteFailure {
            try await avatar.callRemote("authenticate_account", .string("nobody"), .bytes(challenge), .bytes(response))
        }
        #expect(unknown?.type == "pbauth.NoSuchAccount" && unknown?.check("twisted.cred.error.UnauthorizedLogin") == true)
        checker.overloaded.store(true, ordering: .relaxed)
        let busy = await remoteFailure {
            try await avatar.callRemote("authenticate_account", .string("alice"), .bytes(challenge), .bytes(response))
        }
        #expect(busy?.type == "pbauth.Overloaded")
        await connection.close()
        await server.stop(gracePeriod: .seconds(1))
    }
}
