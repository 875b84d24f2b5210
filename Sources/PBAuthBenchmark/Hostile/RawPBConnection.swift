import Banana
import Foundation
import NIOCore
import NIOPosix
import PerspectiveBroker

/// A PB client that sends exactly the bytes it is given and hands up every frame the
/// server writes: the attacker of `pbauth-bench hostile`.
final class RawPBConnection: @unchecked Sendable {
    let channel: any Channel
    private var frames: AsyncStream<PBFrame>.Iterator
    private var lastRequestID = 0

    private init(channel: any Channel, frames: AsyncStream<PBFrame>) {
        self.channel = channel
        self.frames = frames.makeAsyncIterator()
    }

    /// Connects and finishes the handshake (dialect `pb`, version 6).
    static func connect(port: Int) async throws -> RawPBConnection {
        let (stream, continuation) = AsyncStream<PBFrame>.makeStream()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            // TCP_NODELAY is ClientBootstrap's default.
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FrameCollector(continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let connection = RawPBConnection(channel: channel, frames: stream)
        guard case .dialectOffer = await connection.next() else { throw BenchError.setupFailed("no dialect offer") }
        var bytes = ByteBuffer()
        PBEncoder.writeDialectChoice(Array("pb".utf8), into: &bytes)
        try PBEncoder.write(.version(6), dialect: .pb, into: &bytes) { _ in throw BenchError.setupFailed("no objects") }
        try await channel.writeAndFlush(bytes)
        guard case .message(.version) = await connection.next() else { throw BenchError.setupFailed("no version") }
        return connection
    }

    /// The next frame, or nil once the server closed the connection (or after 30 s).
    func next() async -> PBFrame? {
        let deadline = channel.eventLoop.scheduleTask(in: .seconds(30)) { [channel] in channel.close(promise: nil) }
        defer { deadline.cancel() }
        return await frames.next()
    }

    /// The next message answering `requestID` (skips others); nil when the connection closed.
    func answer(to requestID: Int) async -> PBMessage? {
        while let frame = await next() {
            guard case .message(let message) = frame else { continue }
            switch message {
            case .answer(requestID, _), .error(requestID, _): return message
            default: continue
            }
        }
        return nil
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Sends a call; answers its request id.
    @discardableResult
    func call(_ object: PBObjectID, _ method: String, _ arguments: [JellyValue]) async throws -> Int {
        lastRequestID += 1
        var bytes = ByteBuffer()
        try PBEncoder.write(.call(PBCall(requestID: lastRequestID, object: object, method: method, arguments: arguments)),
                            dialect: .pb, into: &bytes) { _ in throw BenchError.setupFailed("no objects") }
        try await channel.writeAndFlush(bytes)
        return lastRequestID
    }

    /// The next request id this connection will use, for hand-written calls.
    func takeRequestID() -> Int {
        lastRequestID += 1
        return lastRequestID
    }

    /// Logs in as PB's `login` does; answers the avatar's luid.
    func login(username: String, secret: String) async throws -> Int {
        let first = try await call(.root, "login", [.bytes(Array(username.utf8))])
        guard case .answer(_, .tuple(let parts)) = await answer(to: first), parts.count == 2,
              let challenge = parts[0].bytesValue, case .remote(let challenger) = parts[1]
        else { throw BenchError.setupFailed("login was not answered with a challenge") }
        let response = PBLoginChallenge.response(secret: Array(secret.utf8), challenge: challenge)
        let second = try await call(.luid(challenger), "respond", [.bytes(response), .none])
        guard case .answer(_, .remote(let avatar)) = await answer(to: second) else {
            throw BenchError.setupFailed("respond did not answer an avatar")
        }
        return avatar
    }

    func close() async {
        try? await channel.close()
    }
}

/// Decodes what the server writes and hands the frames to an async stream.
private final class FrameCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private var decoder = PBFrameDecoder(role: .client)
    private var buffer = ByteBuffer()
    private let continuation: AsyncStream<PBFrame>.Continuation

    init(_ continuation: AsyncStream<PBFrame>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        do {
            while let frame = try decoder.decodeFrame(from: &buffer) { continuation.yield(frame) }
            buffer.discardReadBytes()
        } catch {
            continuation.finish()
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
    }
}
