import Banana
import NIOCore
import NIOPosix
import PBTestSupport
import PerspectiveBroker
import Testing

/// Bounds on connections over real TCP on loopback: caps, idle timeouts, peers that never read.
@Suite("Connection bounds over TCP", .serialized)
struct ConnectionBoundsTests {
    /// The dialect choice "pb" and the version message, as a client sends them first.
    static let handshake: [UInt8] = [0x02, 0x82, 0x70, 0x62, 0x02, 0x80, 0x13, 0x87, 0x06, 0x81]

    static func connectRaw(_ port: Int) async throws -> any Channel {
        try await RawPeer.openSilent(port: port)
    }

    /// Waits at most `seconds` for `channel` to be closed by the server; answers whether it was.
    static func closedByServer(_ channel: any Channel, within seconds: Int64) async -> Bool {
        let gaveUp = channel.eventLoop.scheduleTask(in: .seconds(seconds)) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        return await RawPeer.closedBeforeTimer(gaveUp)
    }

    @Test func connectionsPastThePerSourceCapAreClosedAtOnce() async throws {
        var configuration = PBServerConfiguration()
        configuration.maxConnectionsPerSource = 2
        let server = try await RunningTestServer.start(configuration: configuration)
        let first = try await server.connect()
        let second = try await server.connect()
        let third = try await Self.connectRaw(server.port)
        #expect(await Self.closedByServer(third, within: 5), "the third connection from 127.0.0.1 was kept")
        #expect(first.isConnected && second.isConnected)
        await first.close()
        // A place is free again once one closes.
        #expect(await eventually { server.server.connectionCount == 1 })
        let again = try await server.connect()
        #expect(try await again.login(username: Array("alice".utf8), secret: Array("sesame".utf8)).callRemote("echo", .int(1)) == .tuple([.int(1)]))
        await second.close()
        await again.close()
        await server.stop()
    }

    @Test func connectionsPastTheTotalCapAreClosedAtOnce() async throws {
        var configuration = PBServerConfiguration()
        configuration.maxConnections = 3
        let server = try await RunningTestServer.start(configuration: configuration)
        var held: [any Channel] = []
        for _ in 0..<3 { held.append(try await Self.connectRaw(server.port)) }
        #expect(await eventually { server.server.connectionCount == 3 })
        let extra = try await Self.connectRaw(server.port)
        #expect(await Self.closedByServer(extra, within: 5))
        for channel in held { try? await channel.close() }
        await server.stop()
    }

    @Test func aStrangerTricklingOneByteAtATimeIsClosed() async throws {
        var configuration = PBServerConfiguration()
        configuration.strangers.idleTimeout = .seconds(1)
        let server = try await RunningTestServer.start(configuration: configuration)
        let channel = try await Self.connectRaw(server.port)
        try await channel.writeAndFlush(ByteBuffer(bytes: Self.handshake))
        // A login message that never ends, one byte every 100 ms: bytes keep coming, no message does.
        let trickle = Task {
            let message = [UInt8](repeating: 0x61, count: 200)
            for byte in [0x07, 0x80] + message {
                guard channel.isActive else { return }
                try? await channel.writeAndFlush(ByteBuffer(bytes: [byte]))
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(await Self.closedByServer(channel, within: 10), "the trickling stranger was kept")
        trickle.cancel()
        await server.stop()
    }

    @Test func anIdleLoggedInConnectionIsClosedAndABusyOneIsKept() async throws {
        var configuration = PBServerConfiguration()
        configuration.idleTimeout = .seconds(1)
        let server = try await RunningTestServer.start(configuration: configuration)
        let idle = try await server.connect()
        _ = try await idle.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        let busy = try await server.connect()
        let avatar = try await busy.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        for _ in 0..<15 {
            _ = try await avatar.callRemote("echo", .int(1))
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(!idle.isConnected, "the idle logged-in connection was kept for 3 s with a 1 s idle timeout")
        #expect(busy.isConnected)
        await busy.close()
        await server.stop()
    }

    @Test func aStrangerThatNeverReadsIsClosed() async throws {
        let server = try await RunningTestServer.start()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .connect(host: "127.0.0.1", port: server.port).get()
        try await channel.writeAndFlush(ByteBuffer(bytes: Self.handshake))
        // Pipelined calls (each answered with an error of about 200 bytes) that are never read.
        var burst = ByteBuffer()
        for requestID in 1...2_000 {
            try PBEncoder.write(.call(PBCall(requestID: requestID, object: .root, method: "noSuchMethod",
                                             arguments: [.bytes(Array(repeating: 0x61, count: 64))])),
                                dialect: .pb, into: &burst) { _ in throw PBCallError.unsendable("test") }
        }
        let writer = Task {
            for _ in 0..<200 where channel.isActive {
                try? await channel.writeAndFlush(burst)
            }
        }
        #expect(await Self.closedByServer(channel, within: 20), "the stranger that never reads was kept")
        writer.cancel()
        // Others are served.
        let other = try await server.connect()
        _ = try await other.login(username: Array("alice".utf8), secret: Array("sesame".utf8))
        await other.close()
        await server.stop()
    }
}
