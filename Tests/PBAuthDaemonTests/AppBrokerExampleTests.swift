import Banana
import Foundation
import Logging
import NIOPosix
import PBAuthProtocol
import PBAuthSubordinate
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// Exactly what Examples/AppBroker (and the PBAuthSubordinate article) shows, against a
/// real master: an application broker with its own avatar, whose logins pbauth decides.
@Suite("The application broker example", .serialized)
struct AppBrokerExampleTests {
    final class GameAvatar: PBReferenceable {
        let user: String
        init(user: String) { self.user = user }
        var isAvatar: Bool { true }

        func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary,
                           context: PBCallContext) async throws -> JellyValue {
            guard method == "hello" else { throw PBCallError.noSuchMethod(method) }
            return .string("hello \(user)")
        }
    }

    @Test func aUserLogsInToTheApplicationWithTheirPBAuthCookie() async throws {
        let cluster = try Cluster()
        let masterPort = try cluster.startMaster().port
        try cluster.addUser("alice", password: "wonderland")
        let game = try cluster.addBroker("game1")

        let upstream = PBAuthUpstream(upstream: Endpoint(host: "127.0.0.1", port: masterPort), broker: "game1",
                                      token: Array(game.token.utf8), logger: Logger(label: "app-broker"))
        let server = PBServer(configuration: PBServerConfiguration(host: "127.0.0.1", port: 0),
                              group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "app-broker")) { _ in
            PBPortalRoot(portal: upstream.portal { status, _ in PBAvatarLogin(avatar: GameAvatar(user: status.username)) })
        }
        let port = try await server.start()
        let link = Task { try await upstream.run() }
        defer { link.cancel() }
        #expect(await eventually(seconds: 20) { upstream.isConnected }, "the application broker never logged in to pbauth")

        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "wonderland").dictionaryValue?["cookie"]?.stringValue)
        let (connection, avatar) = try await Client.login(port, "alice", cookie)
        #expect(try await avatar.callRemote("hello") == .string("hello alice"))
        await connection.close()
        let refused = await remoteFailure { try await Client.login(port, "alice", "not the cookie") }
        #expect(refused?.type == "twisted.cred.error.UnauthorizedLogin")
        await server.stop(gracePeriod: .seconds(1))
    }
}
