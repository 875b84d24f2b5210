import NIOCore
import NIOPosix

/// A TCP peer that speaks raw bytes instead of PB, for hostile-input tests.
public enum RawPeer {
    /// Connects, writes `bytes`, and waits at most `seconds` for the server to close.
    /// Answers true when the server closed it, false when we had to.
    public static func serverCloses(port: Int, after bytes: [UInt8], within seconds: Int64 = 10) async throws -> Bool {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture {} }
            .connect(host: "127.0.0.1", port: port).get()
        if !bytes.isEmpty {
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        }
        let gaveUp = channel.eventLoop.scheduleTask(in: .seconds(seconds)) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        return await closedBeforeTimer(gaveUp)
    }

    /// Cancels `timer` and answers whether it had not fired yet (the peer closed first).
    public static func closedBeforeTimer(_ timer: Scheduled<Void>) async -> Bool {
        timer.cancel()
        do {
            try await timer.futureResult.get()
            return false
        } catch {
            return true
        }
    }

    /// Opens a connection that sends nothing until closed by the caller or the server.
    public static func openSilent(port: Int) async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture {} }
            .connect(host: "127.0.0.1", port: port).get()
    }
}
