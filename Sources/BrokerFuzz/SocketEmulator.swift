import NIOCore
import NIOEmbedded

/// The first handler of the fuzzed pipeline, standing in for the socket's write side.
///
/// An `EmbeddedChannel` writes everything at once and is always writable; a socket whose peer
/// does not read keeps what was flushed, grows `bufferedWritableBytes` and turns unwritable
/// past its high water mark (NIO's defaults: 64 KiB, writable again below 32 KiB). While the
/// peer does not read, this handler keeps flushes back (the bytes then stay in the channel's
/// pending writes, which is what `bufferedWritableBytes` reports) and drives `isWritable`.
/// It also notes each `read()` the broker asks for (needed to read with auto-read off).
final class SocketEmulator: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let highWaterMark = 64 * 1024
    static let lowWaterMark = 32 * 1024

    private(set) var peerReads = true
    /// Bytes written and not yet taken by the peer.
    private(set) var buffered = 0
    private var flushHeld = false
    /// Whether the broker asked for a read since the last burst of reads.
    var readRequested = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        buffered += unwrapOutboundIn(data).readableBytes
        context.write(data, promise: promise)
        updateWritability(context)
    }

    func flush(context: ChannelHandlerContext) {
        if peerReads {
            buffered = 0
            flushHeld = false
            context.flush()
        } else {
            flushHeld = true
        }
        updateWritability(context)
    }

    func read(context: ChannelHandlerContext) {
        readRequested = true
        context.read()
    }

    func peerStopsReading() {
        peerReads = false
    }

    /// The peer reads everything written so far.
    func peerStartsReading() {
        peerReads = true
        guard let context else { return }
        if flushHeld {
            flushHeld = false
            buffered = 0
            context.flush()
        }
        updateWritability(context)
    }

    private func updateWritability(_ context: ChannelHandlerContext) {
        guard let channel = context.channel as? EmbeddedChannel, channel.isActive else { return }
        if channel.isWritable, buffered > Self.highWaterMark {
            channel.isWritable = false
            context.fireChannelWritabilityChanged()
        } else if !channel.isWritable, buffered < Self.lowWaterMark {
            channel.isWritable = true
            context.fireChannelWritabilityChanged()
        }
    }
}
