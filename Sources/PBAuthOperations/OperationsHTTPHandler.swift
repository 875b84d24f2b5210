import NIOCore
import NIOHTTP1

/// Answers one connection's requests: `GET /metrics`, `GET /health/live`, `GET /health/ready`.
/// Any other method is refused (405), any other path is 404, and a request that announces a
/// body is refused (413) and its connection closed. Slow answers (metrics, readiness) are
/// computed in a task, never on the event loop; `HTTPServerPipelineHandler` in front keeps
/// pipelined requests in order.
final class OperationsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case head(HTTPRequestHead)
        case refusing
    }

    private let routes: OperationsRoutes
    private let limits: OperationsHTTPLimits
    private var state = State.idle
    private var requests = 0

    init(routes: OperationsRoutes, limits: OperationsHTTPLimits) {
        self.routes = routes
        self.limits = limits
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            if head.headers.contains(name: "transfer-encoding")
                || head.headers["content-length"].contains(where: { $0.trimmingCharacters(in: .whitespaces) != "0" }) {
                state = .refusing
                respond(context: context, version: head.version, status: .payloadTooLarge,
                        contentType: "text/plain; charset=utf-8", body: "requests have no body here\n", close: true)
                return
            }
            state = .head(head)
        case (.body, .head(let head)):
            state = .refusing
            respond(context: context, version: head.version, status: .payloadTooLarge,
                    contentType: "text/plain; charset=utf-8", body: "requests have no body here\n", close: true)
        case (.end, .head(let head)):
            state = .idle
            requests += 1
            answer(head, context: context)
        case (_, .refusing):
            break  // the connection is closing
        default:
            // A head while one is being read cannot come from the decoder; close to be safe.
            context.close(promise: nil)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let close = !head.isKeepAlive || requests >= limits.maxRequestsPerConnection
        guard head.method == .GET else {
            respond(context: context, version: head.version, status: .methodNotAllowed, contentType: "text/plain; charset=utf-8",
                    body: "only GET is served here\n", close: close, extraHeaders: [("Allow", "GET")])
            return
        }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let routes = self.routes
        let version = head.version
        switch path {
        case "/health/live":
            respond(context: context, version: version, status: .ok, contentType: "application/json",
                    body: HealthReport.json(status: "live", role: routes.role) + "\n", close: close)
        case "/health/ready":
            let timeout = limits.readinessTimeout
            deferred(context: context, version: version, close: close) {
                let report = await Self.withTimeout(timeout, routes.readiness) ?? HealthReport(ready: false, checks: ["check": "timed out"])
                return Answer(status: report.ready ? .ok : .serviceUnavailable, contentType: "application/json",
                              body: report.json(role: routes.role) + "\n")
            }
        case "/metrics":
            deferred(context: context, version: version, close: close) {
                Answer(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: await routes.metrics())
            }
        default:
            respond(context: context, version: version, status: .notFound, contentType: "text/plain; charset=utf-8",
                    body: "not found; try /metrics, /health/live or /health/ready\n", close: close)
        }
    }

    private struct Answer: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: String
    }

    /// Computes `work` in a task and writes its answer on the event loop.
    private func deferred(context: ChannelHandlerContext, version: HTTPVersion, close: Bool,
                          _ work: @escaping @Sendable () async -> Answer) {
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
        Task {
            let answer = await work()
            eventLoop.execute {
                let (handler, context) = bound.value
                guard context.channel.isActive else { return }
                handler.respond(context: context, version: version, status: answer.status, contentType: answer.contentType,
                                body: answer.body, close: close)
            }
        }
    }

    private func respond(context: ChannelHandlerContext, version: HTTPVersion, status: HTTPResponseStatus, contentType: String,
                         body: String, close: Bool, extraHeaders: [(String, String)] = []) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        if close { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            let context = loopBound.value
            if close {
                context.close(promise: nil)
            } else {
                context.triggerUserOutboundEvent(RequestBoundsHandler.ResponseSent(), promise: nil)
            }
        }
    }

    /// `body`'s answer, or nil when it takes longer than `timeout`.
    private static func withTimeout<Value: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async -> Value) async -> Value? {
        await withTaskGroup(of: Value?.self) { group in
            group.addTask { await body() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
