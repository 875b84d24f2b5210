import NIOCore

/// Sits in front of the HTTP decoder and bounds each request by its raw bytes and its time:
/// a request larger than `maxRequestBytes`, or one still arriving `requestTimeout` after its
/// first byte (a slow sender), closes the connection; so does silence longer than the idle
/// timeout (an `IdleStateHandler` before this handler raises it). The response handler marks
/// the end of each answer with `ResponseSent`, which starts the next request's budget.
final class RequestBoundsHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The outbound event that says an answer was written in full.
    struct ResponseSent {}

    private let maxRequestBytes: Int
    private let requestTimeout: TimeAmount
    private var bytesThisRequest = 0
    private var deadline: Scheduled<Void>?

    init(limits: OperationsHTTPLimits) {
        maxRequestBytes = limits.maxRequestBytes
        requestTimeout = .nanoseconds(limits.requestTimeout.wholeNanoseconds)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if bytesThisRequest == 0, buffer.readableBytes > 0, deadline == nil {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: requestTimeout) { loopBound.value.close(promise: nil) }
        }
        bytesThisRequest += buffer.readableBytes
        guard bytesThisRequest <= maxRequestBytes else {
            deadline?.cancel()
            deadline = nil
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is ResponseSent {
            bytesThisRequest = 0
            deadline?.cancel()
            deadline = nil
            promise?.succeed()
            return
        }
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating at `Int64.max`).
    var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled &+ attoseconds / 1_000_000_000
    }
}
