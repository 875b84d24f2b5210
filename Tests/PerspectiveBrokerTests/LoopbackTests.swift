import Banana
import Logging
import NIOCore
import NIOPosix
import PBTestSupport
import PerspectiveBroker
import Testing


@Suite("Swift client <-> Swift server over loopback")
struct LoopbackTests {
    @Test func loginSucceedsAndTheAvatarAnswers() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        let answer = try await avatar.callRemote("echo", .string("hello"), .int(2))
        #expect(answer == .tuple([.string("hello"), .int(2)]))
        #expect(running.portal.logins.load(ordering: .relaxed) == 1)
        await client.close()
        await running.stop()
    }

    @Test(arguments: [("alice", "wrong"), ("mallory", "sesame")])
    func badCredentialsFailWithUnauthorizedLogin(username: String, secret: String) async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let failure = await remoteFailure {
            _ = try await client.login(username: Array(username.utf8), secret: Array(secret.utf8))
        }
        #expect(failure?.check("twisted.cred.error.UnauthorizedLogin") == true)
        #expect(failure?.check("twisted.cred.error.LoginFailed") == true)
        // The connection stays usable: a correct login on it works.
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        #expect(try await avatar.callRemote("echo", .int(1)) == .tuple([.int(1)]))
        await client.close()
        await running.stop()
    }

    static let everyJellyType: [JellyValue] = [
        .none, .bool(true), .bool(false), .int(0), .int(-5), .int(Int.max), .int(Int.min),
        .bigInt(BigInteger("1180591620717411303424")!), .bigInt(BigInteger("-1267650600228229401496703205376")!),
        .float(1.5), .float(-0.0), .float(.infinity), .bytes([0, 255, 1]), .bytes(Array("None".utf8)),
        .string("unicode é€ 😀"), .string(""), .list([]), .tuple([]),
        .list([.int(1), .tuple([.string("nested"), .list([.none])])]),
        .dictionary(["k": .string("v"), .int(1): .list([.bytes([120])])]),
        .dictionary([:]), .set([.int(1), .string("two")]), .frozenSet([.bytes([1])]),
        .unpersistable("instance of class x deemed insecure"),
    ]

    @Test func echoesEveryJellyType() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        let answer = try await avatar.callRemote("echo", arguments: Self.everyJellyType, keywords: [:])
        #expect(answer == .tuple(Self.everyJellyType))
        let nan = try await avatar.callRemote("echo", .float(.nan))
        #expect(nan.arrayValue?.first.map { if case .float(let x) = $0 { x.isNaN } else { false } } == true)
        let keywords = try await avatar.callRemote("echoKw", arguments: [.int(1)], keywords: ["a": .string("x")])
        #expect(keywords == .list([.list([.int(1)]), .dictionary(["a": .string("x")])]))
        await client.close()
        await running.stop()
    }

    @Test func sharedValuesStayShared() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        let shared = SharedJellyValue(.list([.int(1)]))
        #expect(try await avatar.callRemote("isSame", .shared(shared), .shared(shared)) == .bool(true))
        #expect(try await avatar.callRemote("isSame", .list([.int(1)]), .list([.int(1)])) == .bool(false))
        let echoed = try await avatar.callRemote("echo", .shared(shared), .shared(shared))
        guard case .tuple(let items) = echoed, items.count == 2,
              case .shared(let first) = items[0], case .shared(let second) = items[1] else {
            Issue.record("echo of a shared value answered \(echoed)")
            return
        }
        #expect(first === second)
        await client.close()
        await running.stop()
    }

    @Test func remoteErrorsCarryTheirParents() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        let failure = await remoteFailure { try await avatar.callRemote("fail") }
        #expect(failure?.type == "builtins.ValueError")
        #expect(failure?.value == "deliberate failure")
        #expect(failure?.check("builtins.Exception") == true)
        // An unexpected Swift error travels as pb.Error without its text.
        let crash = await remoteFailure { try await avatar.callRemote("crash") }
        #expect(crash?.type == "twisted.spread.pb.Error")
        #expect(crash.map { !"\($0.value)\($0.traceback)".contains("hunter2") } == true)
        await client.close()
        await running.stop()
    }

    @Test func missingMethodsFailLikeTwisted() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        let onAvatar = await remoteFailure { try await avatar.callRemote("nope") }
        #expect(onAvatar?.type == "builtins.AttributeError")
        guard case .object(let object) = try await avatar.callRemote("getChild"),
              let child = object as? PBRemoteReference else {
            Issue.record("getChild did not answer a reference")
            return
        }
        let onChild = await remoteFailure { try await child.callRemote("nope") }
        #expect(onChild?.type == "twisted.spread.flavors.NoSuchMethod")
        #expect(onChild?.check("builtins.AttributeError") == true)
        #expect(try await child.callRemote("ping", .int(5)) == .tuple([.string("pong"), .int(5)]))
        // Sent back, the reference arrives as the server's own object ([local, luid]).
        #expect(try await avatar.callRemote("isMyChild", .object(child)) == .bool(true))
        await client.close()
        await running.stop()
    }

    @Test func losingTheConnectionFailsPendingCalls() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        let slow = Task { try await avatar.callRemote("sleep", .int(30)) }
        #expect(await eventually { running.server.connectionCount == 1 })
        try await Task.sleep(for: .milliseconds(50))
        await running.server.stop(gracePeriod: .zero)
        await #expect(throws: PBCallError.self) { _ = try await slow.value }
        await client.waitUntilClosed()
        #expect(!client.isConnected)
        await #expect(throws: PBCallError.self) { _ = try await avatar.callRemote("echo") }
        try? await running.group.shutdownGracefully()
    }

    @Test func aCallPastItsTimeLimitFailsAndItsLateAnswerIsDropped() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        await #expect {
            _ = try await avatar.callRemote("sleep", arguments: [.int(1)], keywords: [:], timeout: .milliseconds(100))
        } throws: { error in
            if case PBCallError.timedOut = error { return true }
            return false
        }
        // The answer arrives after the caller gave up: dropped, and the connection stays usable.
        try await Task.sleep(for: .milliseconds(1_200))
        #expect(client.isConnected)
        let answer = try await avatar.callRemote("echo", arguments: [.int(7)], keywords: [:], timeout: .seconds(10))
        #expect(answer == .tuple([.int(7)]))
        await client.close()
        await running.stop()
    }

    @Test func logoutRunsOnceWhenTheAvatarIsReleased() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        do {
            let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
            _ = try await avatar.callRemote("echo")
        }
        // The avatar reference is gone: its decref brings the count to 0 and logout runs.
        #expect(await eventually { running.portal.logouts.load(ordering: .relaxed) == 1 })
        await client.close()
        try await Task.sleep(for: .milliseconds(50))
        #expect(running.portal.logouts.load(ordering: .relaxed) == 1)
        await running.stop()
    }

    @Test func logoutRunsOnceWhenTheConnectionDrops() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        #expect(running.portal.logouts.load(ordering: .relaxed) == 0)
        await client.close()
        #expect(await eventually { running.portal.logouts.load(ordering: .relaxed) == 1 })
        withExtendedLifetime(avatar) {}
        try await Task.sleep(for: .milliseconds(50))
        #expect(running.portal.logouts.load(ordering: .relaxed) == 1)
        await running.stop()
    }

    @Test func anonymousLoginIsUnhandledCredentials() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let failure = await remoteFailure { try await client.root.callRemote("loginAnonymous", .none) }
        #expect(failure?.check("twisted.cred.error.UnhandledCredentials") == true)
        #expect(failure?.check("twisted.cred.error.UnauthorizedLogin") == false)
        await client.close()
        await running.stop()
    }

    @Test func theServerCanCallTheClientsMind() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let mind = ChildObject()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8),
                                            mind: .object(mind))
        // callMind makes the server call hello on our mind: ChildObject only knows ping.
        let failure = await remoteFailure { try await avatar.callRemote("callMind", .string("there")) }
        #expect(failure?.type == "twisted.spread.flavors.NoSuchMethod")
        await client.close()
        await running.stop()
    }

    @Test func manyConcurrentClients() async throws {
        let running = try await RunningTestServer.start()
        try await withThrowingTaskGroup(of: JellyValue.self) { group in
            for index in 0..<50 {
                group.addTask {
                    let client = try await running.connect()
                    let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
                    let answer = try await avatar.callRemote("echo", .int(index))
                    await client.close()
                    return answer
                }
            }
            var answers = 0
            for try await answer in group {
                #expect(answer.arrayValue?.count == 1)
                answers += 1
            }
            #expect(answers == 50)
        }
        await running.stop()
    }
}

@Suite("PBServer configuration and lifecycle")
struct ServerLifecycleTests {
    @Test func idleConnectionsAreClosedWhenConfigured() async throws {
        let running = try await RunningTestServer.start(configuration: PBServerConfiguration(idleTimeout: .seconds(1)))
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        await client.waitUntilClosed()
        #expect(!client.isConnected)
        #expect(await eventually { running.portal.logouts.load(ordering: .relaxed) == 1 })
        withExtendedLifetime(avatar) {}
        await running.stop()
    }

    @Test func connectionsBeyondTheLimitAreRefused() async throws {
        let running = try await RunningTestServer.start(configuration: PBServerConfiguration(maxConnections: 1))
        let first = try await running.connect()
        await #expect(throws: (any Error).self) {
            let second = try await running.connect()
            await second.close()
        }
        #expect(first.isConnected)
        #expect(try await first.root.callRemote("login", .bytes(Array("alice".utf8))).arrayValue?.count == 2)
        await first.close()
        await running.stop()
    }

    @Test func stopLetsCallsInProgressFinish() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        let slow = Task { try await avatar.callRemote("sleep", .int(1)) }
        try await Task.sleep(for: .milliseconds(100))
        await running.server.stop(gracePeriod: .seconds(10))
        #expect(try await slow.value == JellyValue.none)
        await client.waitUntilClosed()
        #expect(running.server.connectionCount == 0)
        try? await running.group.shutdownGracefully()
    }

    @Test func pipelinedCallsBeyondTheInFlightLimitWaitAndAllComplete() async throws {
        let running = try await RunningTestServer.start(
            configuration: PBServerConfiguration(maxCallsInFlightPerConnection: 2))
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask { try await avatar.callRemote("echo", .int(index)).arrayValue?.first?.intValue ?? -1 }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == (0..<200).reduce(0, +))
        await client.close()
        await running.stop()
    }

    @Test func aClientGivesUpOnASilentServer() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let silent = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        await #expect(throws: PBCallError.self) {
            _ = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: group,
                                                     handshakeTimeout: .milliseconds(200))
        }
        try await silent.close()
        try await group.shutdownGracefully()
    }

    @Test func callsWithoutAnswerSendNothingBack() async throws {
        let running = try await RunningTestServer.start()
        let client = try await running.connect()
        let avatar = try await client.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        try await avatar.callRemoteNoAnswer("fail")
        try await avatar.callRemoteNoAnswer("echo", arguments: [.int(1)])
        // Had the server answered, the client would have closed on an answer for an unknown request.
        #expect(try await avatar.callRemote("echo", .int(2)) == .tuple([.int(2)]))
        #expect(client.isConnected)
        await client.close()
        await running.stop()
    }
}
