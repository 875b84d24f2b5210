import NIOCore
import NIOPosix
import PBTestSupport
import PerspectiveBroker
import Testing

/// Hostile peers against the Swift server: each closes only its own connection, and the next
/// stock Twisted client is served.
@Suite("Hostile input against the Swift server", .serialized)
struct HostileInputTests {
    @Test(arguments: [
        ("garbage bytes", [UInt8](repeating: 0xff, count: 32)),
        ("oversized length prefix", [0x02, 0x82, 0x70, 0x62] + [UInt8](repeating: 0x01, count: 65)),
        ("string longer than 655360", [0x02, 0x82, 0x70, 0x62, 0x01, 0x80, 0x01, 0x00, 0x28, 0x82]),
        ("non-list message", [0x02, 0x82, 0x70, 0x62, 0x05, 0x81]),
    ])
    func malformedInputClosesOnlyThatConnection(_ name: String, _ bytes: [UInt8]) async throws {
        let server = try await RunningTestServer.start()
        // A well-behaved bystander connected before the attack stays connected.
        let bystander = try await PBClientConnection.connect(host: "127.0.0.1", port: server.port,
                                                             group: MultiThreadedEventLoopGroup.singleton)
        let avatar = try await bystander.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        #expect(try await RawPeer.serverCloses(port: server.port, after: bytes), "\(name) did not close the connection")
        #expect(try await avatar.callRemote("echo", .int(1)) == .tuple([.int(1)]))
        let outcome = try await TwistedFixtures.runClient(port: server.port, scenarios: ["login_ok"])
        expectAllPassed(outcome, ["login_ok"])
        await bystander.close()
        await server.stop()
    }

    @Test func halfOpenConnectionDoesNotBlockOthersAndIsDropped() async throws {
        var configuration = PBServerConfiguration()
        configuration.handshakeTimeout = .seconds(2)
        let server = try await RunningTestServer.start(configuration: configuration)
        let silent = try await RawPeer.openSilent(port: server.port)
        // Half a message: the dialect choice's header without its bytes.
        try await silent.writeAndFlush(ByteBuffer(bytes: [0x02, 0x82, 0x70]))
        let outcome = try await TwistedFixtures.runClient(port: server.port, scenarios: ["login_ok", "echo"])
        expectAllPassed(outcome, ["login_ok", "echo"])
        // The handshake timeout drops the silent socket (bounded wait, no timing assertion).
        let closed = silent.eventLoop.scheduleTask(in: .seconds(20)) { silent.close(promise: nil) }
        try? await silent.closeFuture.get()
        let closedByServer = await RawPeer.closedBeforeTimer(closed)
        #expect(closedByServer, "the half-open connection was not dropped")
        await server.stop()
    }
}
