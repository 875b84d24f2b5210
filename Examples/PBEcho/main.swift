// A PB server and a client in one process: the server's portal knows alice/"sesame" and
// hands out an avatar whose `echo` answers its arguments; the client logs in and calls it.
//
//     swift run pb-echo-example
import Banana
import Logging
import NIOPosix
import PerspectiveBroker

/// What a logged-in user gets: `echo(*args)` answers the arguments.
final class EchoAvatar: PBReferenceable {
    var isAvatar: Bool { true }

    func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary,
                       context: PBCallContext) async throws -> JellyValue {
        guard method == "echo" else { throw PBCallError.noSuchMethod(method) }
        return .tuple(arguments)
    }
}

/// Checks PB's challenge-response against one known secret.
struct OneUserPortal: PBPortal {
    func login(username: [UInt8], challenge: [UInt8], response: [UInt8], mind: JellyValue,
               connection: PBConnectionInfo) async throws -> PBAvatarLogin {
        let expected = PBLoginChallenge.response(secret: Array("sesame".utf8), challenge: challenge)
        guard username == Array("alice".utf8), PBLoginChallenge.constantTimeEquals(response, expected) else {
            throw PBFailures.unauthorizedLogin()
        }
        return PBAvatarLogin(avatar: EchoAvatar())
    }
}

let logger = Logger(label: "pb-echo-example")
let server = PBServer(configuration: PBServerConfiguration(host: "127.0.0.1", port: 0),
                      group: MultiThreadedEventLoopGroup.singleton, logger: logger) { _ in
    PBPortalRoot(portal: OneUserPortal())
}
let port = try await server.start()

let client = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
let answer = try await avatar.callRemote("echo", .string("hello"), .int(42))
print("echo answered \(answer)")
await client.close()
await server.stop(gracePeriod: .seconds(1))
