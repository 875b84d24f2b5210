import Banana
import NIOCore
import NIOPosix
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// The Swift `PBClientConnection` against a stock Twisted `PBServerFactory(portal)`.
@Suite("Swift client -> Twisted server", .serialized)
struct SwiftClientAgainstTwistedServerTests {
    var group: MultiThreadedEventLoopGroup { .singleton }

    func withTwistedServer(_ body: (Int, RunningProcess) async throws -> Void) async throws {
        guard let (process, port) = try await TwistedFixtures.startServer() else { return }
        defer { process.stop() }
        try await body(port, process)
    }

    static func login(port: Int, username: String = "alice", secret: String = "sesame") async throws
        -> (PBClientConnection, PBRemoteReference) {
        let client = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
        let avatar = try await client.login(username: Array(username.utf8), secret: Array(secret.utf8))
        return (client, avatar)
    }

    @Test func loginSucceeds() async throws {
        try await withTwistedServer { port, process in
            let (client, avatar) = try await Self.login(port: port)
            #expect(try await avatar.callRemote("echo", .string("hello")) == .tuple([.string("hello")]))
            await client.close()
            #expect(await waitForLine(of: process) { $0 == "LOGOUT alice" } != nil)
        }
    }

    @Test(arguments: [("alice", "wrong"), ("mallory", "sesame")])
    func badCredentialsFailWithUnauthorizedLogin(username: String, secret: String) async throws {
        try await withTwistedServer { port, _ in
            let client = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: group)
            do {
                _ = try await client.login(username: Array(username.utf8), secret: Array(secret.utf8))
                Issue.record("login succeeded")
            } catch PBCallError.remoteFailure(let failure) {
                #expect(failure.check("twisted.cred.error.UnauthorizedLogin"))
            }
            // The Twisted server keeps the connection: a correct login on it works.
            let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
            #expect(try await avatar.callRemote("echo", .int(1)) == .tuple([.int(1)]))
            await client.close()
        }
    }

    static let echoValues: [JellyValue] = [
        .none, .bool(true), .bool(false), .int(0), .int(12), .int(-5), .int(2_147_483_647), .int(2_147_483_648),
        .int(-2_147_483_648), .int(-2_147_483_649), .int(Int.max), .int(Int.min),
        .bigInt(BigInteger("1180591620717411303424")!), .bigInt(BigInteger("-1267650600228229401496703205376")!),
        .float(1.5), .float(-0.0), .float(.infinity), .bytes([0, 255, 1]), .bytes(Array("None".utf8)),
        .bytes(Array("message".utf8)), .bytes([]), .string("unicode é€ 😀"), .string(""), .list([]), .tuple([]),
        .list([.int(1), .tuple([.string("nested"), .list([.none])])]),
        .dictionary(["k": .string("v"), .int(1): .list([.bytes([120])]), .tuple([.int(1), .int(2)]): .dictionary([:])]),
        .set([.int(1), .int(2)]), .frozenSet([.int(3)]),
    ]

    @Test func echoesEveryJellyType() async throws {
        try await withTwistedServer { port, _ in
            let (client, avatar) = try await Self.login(port: port)
            let answer = try await avatar.callRemote("echo", arguments: Self.echoValues, keywords: [:])
            #expect(answer == .tuple(Self.echoValues))
            let keywords = try await avatar.callRemote("echoKw", arguments: [.int(1)],
                                                       keywords: ["a": .string("x"), "b": .list([.int(2)])])
            #expect(keywords == .list([.list([.int(1)]), .dictionary(["a": .string("x"), "b": .list([.int(2)])])]))
            await client.close()
        }
    }

    @Test func sharedValuesStayShared() async throws {
        try await withTwistedServer { port, _ in
            let (client, avatar) = try await Self.login(port: port)
            let shared = SharedJellyValue(.list([.int(1), .string("one")]))
            #expect(try await avatar.callRemote("isSame", .shared(shared), .shared(shared)) == .bool(true))
            #expect(try await avatar.callRemote("isSame", .list([.int(1)]), .list([.int(1)])) == .bool(false))
            let echoed = try await avatar.callRemote("echo", .shared(shared), .shared(shared))
            if case .tuple(let items) = echoed, items.count == 2,
               case .shared(let first) = items[0], case .shared(let second) = items[1] {
                #expect(first === second)
                #expect(first.value == shared.value)
            } else {
                Issue.record("echo of a shared value answered \(echoed)")
            }
            await client.close()
        }
    }

    @Test func remoteErrorsCarryTheirParents() async throws {
        try await withTwistedServer { port, _ in
            let (client, avatar) = try await Self.login(port: port)
            do {
                _ = try await avatar.callRemote("fail")
                Issue.record("fail() succeeded")
            } catch PBCallError.remoteFailure(let failure) {
                #expect(failure.type == "builtins.ValueError")
                #expect(failure.value == "deliberate failure")
                #expect(failure.check("builtins.ValueError") && failure.check("builtins.Exception"))
            }
            #expect(try await avatar.callRemote("echo", .int(2)) == .tuple([.int(2)]))
            await client.close()
        }
    }

    @Test func missingMethodIsAnAttributeError() async throws {
        try await withTwistedServer { port, _ in
            let (client, avatar) = try await Self.login(port: port)
            do {
                _ = try await avatar.callRemote("noSuchThing")
                Issue.record("noSuchThing succeeded")
            } catch PBCallError.remoteFailure(let failure) {
                #expect(failure.check("builtins.AttributeError"))
            }
            await client.close()
        }
    }

    @Test func childReferencesTravelBothWaysAndAreReleased() async throws {
        try await withTwistedServer { port, _ in
            let (client, avatar) = try await Self.login(port: port)
            do {
                guard case .object(let object) = try await avatar.callRemote("getChild"),
                      let child = object as? PBRemoteReference else {
                    Issue.record("getChild did not answer a reference")
                    return
                }
                #expect(try await child.callRemote("ping", .int(5)) == .tuple([.string("pong"), .int(5)]))
                #expect(try await avatar.callRemote("isMyChild", .object(child)) == .bool(true))
            }
            // Our decrefs must be ones Twisted holds: a wrong one would make it drop the connection.
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await avatar.callRemote("echo", .int(3)) == .tuple([.int(3)]))
            #expect(client.isConnected)
            await client.close()
        }
    }

    @Test func logoutRunsWhenTheAvatarIsReleased() async throws {
        try await withTwistedServer { port, process in
            let client = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: group)
            do {
                let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
                _ = try await avatar.callRemote("echo")
            }
            // The avatar's decref reached Twisted while the connection is still open.
            #expect(await waitForLine(of: process) { $0 == "LOGOUT alice" } != nil)
            #expect(client.isConnected)
            await client.close()
        }
    }

    @Test func hundredConcurrentClients() async throws {
        try await withTwistedServer { port, _ in
            try await withThrowingTaskGroup(of: JellyValue.self) { tasks in
                for index in 0..<100 {
                    tasks.addTask {
                        let (client, avatar) = try await Self.login(port: port)
                        let answer = try await avatar.callRemote("echo", .int(index))
                        await client.close()
                        return answer
                    }
                }
                var count = 0
                for try await answer in tasks {
                    #expect(answer.arrayValue?.count == 1)
                    count += 1
                }
                #expect(count == 100)
            }
        }
    }
}
