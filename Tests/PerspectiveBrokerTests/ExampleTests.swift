import Banana
import Logging
import NIOPosix
import PerspectiveBroker
import Testing

/// Exactly what Examples/PBEcho (and the PerspectiveBroker article) shows.
@Suite("The PerspectiveBroker example")
struct ExampleTests {
    final class ExampleEchoAvatar: PBReferenceable {
        var isAvatar: Bool { true }

        func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary,
                           context: PBCallContext) async throws -> JellyValue {
            guard method == "echo" else { throw PBCallError.noSuchMethod(method) }
            return .tuple(arguments)
        }
    }

    struct OneUserPortal: PBPortal {
        func login(username: [UInt8], challenge: [UInt8], response: [UInt8], mind: JellyValue,
                   connection: PBConnectionInfo) async throws -> PBAvatarLogin {
            let expected = PBLoginChallenge.response(secret: Array("sesame".utf8), challenge: challenge)
            guard username == Array("alice".utf8), PBLoginChallenge.constantTimeEquals(response, expected) else {
                throw PBFailures.unauthorizedLogin()
            }
            return PBAvatarLogin(avatar: ExampleEchoAvatar())
        }
    }

    @Test func aServerAndAClientInOneProcess() async throws {
        let server = PBServer(configuration: PBServerConfiguration(host: "127.0.0.1", port: 0),
                              group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "example")) { _ in
            PBPortalRoot(portal: OneUserPortal())
        }
        let port = try await server.start()
        let client = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        #expect(try await avatar.callRemote("echo", .string("hello"), .int(42)) == .tuple([.string("hello"), .int(42)]))
        await client.close()
        await server.stop(gracePeriod: .seconds(1))
    }
}
