// An application broker with its own avatars whose users log in with their pbauth cookie:
// pbauth (a master or a subordinate at --upstream) decides every login.
//
//     pbauth account add game1 --broker --database pbauth.sqlite | tail -1 > game1.token
//     swift run pbauth-app-broker-example --upstream 127.0.0.1:8787 --broker game1 \
//         --token-file game1.token --listen 127.0.0.1:9000
//
// A user then logs in at 127.0.0.1:9000 with username and cookie (a stock Twisted
// `PBClientFactory.login(UsernamePassword(name, cookie))` works) and calls `hello()`.
import Banana
import Foundation
import Logging
import NIOPosix
import PBAuthProtocol
import PBAuthSubordinate
import PerspectiveBroker

/// The application's own avatar: it knows who logged in.
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

func option(_ name: String) -> String? {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count else { return nil }
    return CommandLine.arguments[index + 1]
}

guard let upstreamText = option("--upstream"), let upstreamEndpoint = Endpoint(upstreamText),
      let broker = option("--broker"), let tokenFile = option("--token-file"),
      let tokenText = try? String(contentsOfFile: tokenFile, encoding: .utf8),
      let listen = Endpoint(option("--listen") ?? "127.0.0.1:9000")
else {
    FileHandle.standardError.write(Data("usage: pbauth-app-broker-example --upstream HOST:PORT --broker NAME --token-file FILE [--listen HOST:PORT]\n".utf8))
    exit(64)
}
let logger = Logger(label: "app-broker")
let token = Array(tokenText.trimmingCharacters(in: .whitespacesAndNewlines).utf8)

// The two parts: the link that asks pbauth, and a PB server whose portal it decides.
let upstream = PBAuthUpstream(upstream: upstreamEndpoint, broker: broker, token: token, logger: logger)
let server = PBServer(configuration: PBServerConfiguration(host: listen.host, port: listen.port),
                      group: MultiThreadedEventLoopGroup.singleton, logger: logger) { _ in
    PBPortalRoot(portal: upstream.portal { status, _ in PBAvatarLogin(avatar: GameAvatar(user: status.username)) })
}
let port = try await server.start()
print("app broker listening on \(listen.host):\(port)")
try await upstream.run()  // until the process is stopped
