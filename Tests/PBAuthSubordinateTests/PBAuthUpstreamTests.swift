import Banana
import Logging
import NIOPosix
import PBAuthProtocol
import PBAuthSubordinate
import PBTestSupport
import PerspectiveBroker
import Synchronization
import Testing

/// A checker upstream that knows broker "app"'s token and alice's cookie, and records the paths.
final class UpstreamFake: Checker {
    let paths = Mutex<[[String]]>([])

    func authenticateAccount(username: String, challenge: [UInt8], response: [UInt8], via: [String], source: String) async throws -> AuthenticationStatus {
        paths.withLock { $0.append(via) }
        let secrets = ["alice": "cookie-of-alice", "app": "token-of-app"]
        guard let secret = secrets[username],
              PBLoginChallenge.constantTimeEquals(response, PBLoginChallenge.response(secret: Array(secret.utf8), challenge: challenge))
        else { throw AuthenticationFailure.invalidPassword }
        return username == "app"
            ? AuthenticationStatus(username: "app", kind: .broker, master: false, session: "", expires: 0)
            : AuthenticationStatus(username: "alice", kind: .user, master: false, session: "s7", expires: 99)
    }

    func getAccount(username: String, via: [String]) async throws -> JellyValue { .none }
    func accountStatus(username: String, via: [String]) async throws -> JellyValue { .none }
    func revokeSession(username: String, session: String, via: [String]) async throws {}
}

/// `PBAuthUpstream` against an in-process upstream broker (pbauth's portal over a fake checker).
@Suite("The upstream link and its checker", .serialized)
struct PBAuthUpstreamTests {
    @Test func checksGoUpstreamWithThePathAndADownUpstreamRefuses() async throws {
        let fake = UpstreamFake()
        let upstreamServer = PBServer(configuration: PBServerConfiguration(), group: MultiThreadedEventLoopGroup.singleton,
                                      logger: Logger(label: "test.upstream")) { _ in
            BrokerPortal.root(checker: fake, logger: Logger(label: "test.upstream"))
        }
        let upstreamPort = try await upstreamServer.start()
        let upstream = PBAuthUpstream(upstream: Endpoint(host: "127.0.0.1", port: upstreamPort), broker: "app",
                                      token: Array("token-of-app".utf8), hopLimit: 3, callTimeout: .seconds(5),
                                      reconnectMaxDelay: .milliseconds(200))
        let link = Task { try await upstream.run() }
        defer { link.cancel() }
        #expect(await eventually(seconds: 10) { upstream.isConnected })

        let challenge = PBLoginChallenge.makeChallenge()
        let response = PBLoginChallenge.response(secret: Array("cookie-of-alice".utf8), challenge: challenge)
        let status = try await upstream.checker.authenticateAccount(username: "alice", challenge: challenge, response: response,
                                                                    via: ["edge9"], source: "127.0.0.1:1")
        #expect(status.username == "alice" && status.session == "s7")
        #expect(fake.paths.withLock { $0.last } == ["edge9", "app"])
        // A path that already holds this broker, or that would pass the hop limit, never leaves.
        await #expect(throws: AuthenticationFailure.hopLimitExceeded) {
            _ = try await upstream.checker.authenticateAccount(username: "alice", challenge: challenge, response: response,
                                                               via: ["app"], source: "")
        }
        await #expect(throws: AuthenticationFailure.hopLimitExceeded) {
            _ = try await upstream.checker.authenticateAccount(username: "alice", challenge: challenge, response: response,
                                                               via: ["a", "b", "c"], source: "")
        }
        await #expect(throws: AuthenticationFailure.invalidPassword) {
            _ = try await upstream.checker.authenticateAccount(username: "alice", challenge: challenge, response: [0],
                                                               via: [], source: "")
        }
        // With the upstream gone, checks fail as UpstreamUnavailable.
        await upstreamServer.stop(gracePeriod: .seconds(1))
        #expect(await eventually(seconds: 10) { !upstream.isConnected })
        await #expect(throws: AuthenticationFailure.upstreamUnavailable) {
            _ = try await upstream.checker.authenticateAccount(username: "alice", challenge: challenge, response: response,
                                                               via: [], source: "")
        }
    }
}
