import Banana
import Logging
import NIOCore
import Synchronization

/// The broker of one PB connection: the dialect handshake, the version message, request ids,
/// the table of exported objects, pending calls, and the dispatch of incoming calls.
///
/// It reads bytes and decodes them itself (a `PBFrameDecoder` over one cumulation buffer), so
/// that it can stop decoding at once when too many calls run or the peer does not read: what
/// waits then is at most one read of bytes, not decoded messages. Its mutable state is
/// confined to the channel's event loop; other threads reach it through `eventLoop.execute`.
/// Remote methods run as Swift tasks that prefer the channel's event loop as their executor
/// (see `EventLoopTaskExecutor`) and hand their results back.
///
/// A server connection with stranger limits starts as a stranger and gets the full limits
/// when it is handed an avatar (`PBReferenceable.isAvatar`): the end of a login.
final class PBBroker: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The PB protocol version both sides must announce.
    static let protocolVersion = 6
    /// After this many refusals by the export limit, the connection is closed (as Twisted does).
    static let maxExportRefusals = 3
    /// Past this many calls that timed out and were never answered, the connection is closed.
    static let maxAbandonedRequests = 1024
    /// Bytes of answers that may wait in `outbound` while one read's messages are handled.
    static let answersFlushedDuringARead = 16 * 1024

    enum Phase {
        /// Waiting for the dialect choice (server) or offer (client).
        case handshaking
        /// Messages flow.
        case open
        /// The connection closed; nothing is sent any more.
        case closed
    }

    let role: PBRole
    let eventLoop: any EventLoop
    let connection: PBConnectionInfo
    let logger: Logger
    /// Fulfilled once the dialect is chosen and calls may be sent (clients wait for it).
    let ready: EventLoopPromise<Void>
    /// Fulfilled when the connection has closed and every pending call has failed.
    let closed: EventLoopPromise<Void>
    /// Remote methods started and not yet finished (read by the server's graceful stop).
    let callsInFlight = Atomic<Int>(0)
    /// Whether the connection is still usable, readable from any thread.
    let isOpenFlag = Atomic<Bool>(true)

    private let root: (any PBReferenceable)?
    private let handshakeTimeout: TimeAmount?
    let settings: PBConnectionSettings
    /// Past this many running remote methods, reading pauses (back-pressure on a pipelining peer).
    private(set) var maxCallsInFlight: Int
    /// Past this many bytes of answers the peer has not read, the connection closes.
    private(set) var maxBufferedOutboundBytes: Int
    /// Whether the peer has logged in (always true without stranger limits).
    private(set) var isLoggedIn: Bool
    /// Whether we stopped reading because of `maxCallsInFlight` or an unwritable channel.
    var isReadingPaused = false
    /// The frame decoder; its limits change at login.
    private var decoder: PBFrameDecoder
    /// Bytes read and not yet decoded (at most one message plus one read).
    private var inbound: ByteBuffer?
    /// Whether `inbound` holds only part of a message (decode again when bytes arrive).
    private var inboundNeedsMoreData = false
    private var isDecoding = false
    /// Checks for a peer that sends no complete message for too long.
    private var idleCheck: RepeatedTask?
    private var receivedSinceIdleCheck = false
    private var quietIdleChecks = 0
    let logoutHooks = PBLogoutHooks()
    /// Where remote methods run: on this connection's event loop, so that a call and its
    /// answer need no hop to another thread unless the method itself awaits one.
    let taskExecutor: EventLoopTaskExecutor
    /// Calls from other threads waiting for the event loop to send them.
    let outgoingCalls = Mutex<[PBOutgoingCall]>([])

    // Event-loop-confined state.
    var phase = Phase.handshaking
    var dialect = PBDialect.none
    var context: ChannelHandlerContext?
    var exports: PBExportTable
    var pendingCalls: [Int: EventLoopPromise<JellyValue>] = [:]
    /// Calls given up on after their time limit; their answers, if they come, are dropped.
    var abandonedRequests: Set<Int> = []
    var lastRequestID = 0
    var outbound: ByteBuffer?
    var isInReadBurst = false
    var isFlushScheduled = false
    /// Luids exported while encoding the current message (released again if encoding fails).
    var exportedDuringEncoding: [Int] = []
    /// What the object hook refused while encoding the current message.
    var refusedDuringEncoding: (any Error)?
    private var handshakeDeadline: Scheduled<Void>?
    private var peerVersionReceived = false
    /// Whether the handshake began (the offer is sent once even if we see both handlerAdded and channelActive).
    private var isStarted = false
    /// Set once we decided to close, so that one bad connection logs one line.
    private var isClosing = false

    init(role: PBRole, eventLoop: any EventLoop, connection: PBConnectionInfo, root: (any PBReferenceable)?,
         settings: PBConnectionSettings, logger: Logger) {
        self.role = role
        self.eventLoop = eventLoop
        self.connection = connection
        self.root = root
        self.settings = settings
        let strangers = role == .server ? settings.strangers : nil
        self.isLoggedIn = strangers == nil
        self.exports = PBExportTable(limit: strangers?.maxExportedObjects ?? settings.maxExportedObjects)
        self.handshakeTimeout = settings.handshakeTimeout.map { TimeAmount($0) }
        self.maxCallsInFlight = max(1, strangers?.maxCallsInFlight ?? settings.maxCallsInFlight)
        self.maxBufferedOutboundBytes = strangers?.maxBufferedOutboundBytes ?? settings.maxBufferedOutboundBytes
        self.decoder = PBFrameDecoder(role: role, limits: strangers?.limits ?? settings.limits)
        self.logger = logger
        self.ready = eventLoop.makePromise(of: Void.self)
        self.taskExecutor = EventLoopTaskExecutor(eventLoop)
        self.closed = eventLoop.makePromise(of: Void.self)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !isStarted, phase == .handshaking else { return }
        isStarted = true
        if let handshakeTimeout {
            handshakeDeadline = context.eventLoop.scheduleTask(in: handshakeTimeout) { [self] in
                guard !peerVersionReceived else { return }
                closeConnection(because: "the PB handshake did not finish in time")
            }
        }
        if let strangers = settings.strangers, !isLoggedIn {
            // Small reads while a stranger: what it can make us hold stays small.
            let options = context.channel.syncOptions
            try? options?.setOption(ChannelOptions.recvAllocator,
                                    value: FixedSizeRecvByteBufferAllocator(capacity: max(64, strangers.readChunkBytes)))
            try? options?.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
        }
        startIdleCheck()
        if role == .server {
            var buffer = context.channel.allocator.buffer(capacity: 16)
            PBEncoder.writeDialectOffer(PBDialect.twistedOffer, into: &buffer)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        isInReadBurst = true
        let bytes = unwrapInboundIn(data)
        if var pending = inbound {
            inbound = nil
            pending.writeImmutableBuffer(bytes)
            inbound = pending
        } else {
            inbound = bytes
        }
        inboundNeedsMoreData = false
        decodeInbound()
    }

    /// Decodes and handles the complete messages in `inbound` until it holds none, or until
    /// reading must pause (then they wait, as bytes, until `updateReading` resumes).
    private func decodeInbound() {
        guard !isDecoding else { return }
        isDecoding = true
        defer { isDecoding = false }
        while phase != .closed, !isClosing, !isReadingPaused, var buffer = inbound {
            inbound = nil
            let frame: PBFrame?
            do {
                frame = try decoder.decodeFrame(from: &buffer)
            } catch {
                // Banana, framing and jelly-shape errors: one line, no payload bytes, and only this connection closes.
                closeConnection(because: "\(error)")
                return
            }
            guard let frame else {
                // Part of a message: keep it at the front of its buffer, and wait for more bytes.
                if buffer.readerIndex > 0 { buffer.discardReadBytes() }
                inbound = buffer
                inboundNeedsMoreData = true
                return
            }
            if buffer.readableBytes > 0 { inbound = buffer }
            receivedSinceIdleCheck = true
            handle(frame)
            if callsInFlight.load(ordering: .relaxed) >= maxCallsInFlight { updateReading() }
            // Calls answered at once (no task, so not counted in flight) leave their answers
            // here: past a bound they go out now, and reading pauses once the peer stops
            // reading them, as for answers of tasks.
            if let pending = outbound, pending.readableBytes >= Self.answersFlushedDuringARead {
                flushNow()
                updateReading()
            }
        }
    }

    private func handle(_ frame: PBFrame) {
        switch frame {
        case .dialectOffer(let offered):
            dialectOffered(offered)
        case .dialectChoice(let chosen):
            dialectChosen(chosen)
        case .message(let message):
            guard phase == .open else { return }
            received(message)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        isInReadBurst = false
        // At the end of this loop turn, not now: the remote methods this burst started run
        // first, and those that answer without waiting share the write (a login's challenge
        // goes out with the version message).
        scheduleFlush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Banana and framing errors: one line, no payload bytes, and only this connection closes.
        closeConnection(because: "\(error)")
    }

    /// Closes a peer that sent no complete message for the idle timeout in force (a stranger's
    /// or a logged-in one's): checked every half timeout, closed after two quiet checks in a
    /// row, so between 1 and 1.5 timeouts after its last message. A connection with a call
    /// running is not idle.
    private func startIdleCheck() {
        idleCheck?.cancel()
        idleCheck = nil
        quietIdleChecks = 0
        guard phase != .closed, let timeout = isLoggedIn ? settings.idleTimeout : settings.strangers?.idleTimeout else { return }
        let interval = TimeAmount.nanoseconds(max(1_000_000, TimeAmount(timeout).nanoseconds / 2))
        idleCheck = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] task in
            if receivedSinceIdleCheck || callsInFlight.load(ordering: .relaxed) > 0 {
                receivedSinceIdleCheck = false
                quietIdleChecks = 0
                return
            }
            quietIdleChecks += 1
            if quietIdleChecks >= 2 {
                task.cancel()
                closeConnection(because: isLoggedIn
                    ? "no complete message for the idle timeout"
                    : "no complete message for the idle timeout before a login")
            }
        }
    }

    /// The end of a login: the peer gets the full limits. Called while the avatar is encoded,
    /// so what touches reading runs after this loop turn.
    func becameLoggedIn() {
        guard !isLoggedIn else { return }
        isLoggedIn = true
        decoder.update(limits: settings.limits)
        maxCallsInFlight = max(1, settings.maxCallsInFlight)
        maxBufferedOutboundBytes = settings.maxBufferedOutboundBytes
        exports.limit = settings.maxExportedObjects
        eventLoop.execute { [self] in
            guard phase != .closed, let context else { return }
            let options = context.channel.syncOptions
            try? options?.setOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator())
            try? options?.setOption(ChannelOptions.maxMessagesPerRead, value: UInt(max(1, settings.maxMessagesPerRead)))
            startIdleCheck()
            updateReading()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        updateReading()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        shutDown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        shutDown()
        self.context = nil
    }

    /// Fails what is pending, runs the logout hooks, forgets the tables. Idempotent.
    private func shutDown() {
        guard phase != .closed else { return }
        phase = .closed
        isOpenFlag.store(false, ordering: .releasing)
        handshakeDeadline?.cancel()
        idleCheck?.cancel()
        idleCheck = nil
        inbound = nil
        let pending = pendingCalls
        pendingCalls.removeAll()
        for promise in pending.values { promise.fail(PBCallError.connectionLost) }
        exports.removeAll()
        outbound = nil
        logoutHooks.closeAndRunAll()
        ready.fail(PBCallError.connectionLost)
        closed.succeed(())
    }

    /// Logs one line (never payload bytes) and closes the connection.
    func closeConnection(because reason: String) {
        guard phase != .closed, !isClosing, let context else { return }
        isClosing = true
        logger.notice("closing PB connection", metadata: [
            "connection": "\(connection.id)", "peer": "\(connection.remoteAddress)", "reason": "\(reason)",
        ])
        context.close(promise: nil)
    }

    // MARK: Handshake

    private func dialectOffered(_ offered: [[UInt8]]) {
        guard role == .client, phase == .handshaking, let context else { return }
        // The frame decoder already refused an offer without a dialect we speak.
        guard let chosen = PBDialect.choose(from: offered) else {
            closeConnection(because: "the server offered no dialect we speak")
            return
        }
        dialect = chosen
        var buffer = context.channel.allocator.buffer(capacity: 16)
        PBEncoder.writeDialectChoice(chosen.name, into: &buffer)
        outbound = buffer
        phase = .open
        send(.version(Self.protocolVersion))
        // Ready first, then the flush at the end of this loop turn: a caller waiting on this
        // loop sends its first call (a login) in the same write as the dialect and version.
        ready.succeed(())
        scheduleFlush()
    }

    private func dialectChosen(_ chosen: [UInt8]) {
        guard role == .server, phase == .handshaking else { return }
        // The frame decoder already refused a choice we did not offer.
        guard let chosen = PBDialect(name: chosen) else {
            closeConnection(because: "the client chose a dialect we did not offer")
            return
        }
        dialect = chosen
        phase = .open
        send(.version(Self.protocolVersion))
        ready.succeed(())
    }

    // MARK: Incoming messages

    private func received(_ message: PBMessage) {
        switch message {
        case .version(let version):
            guard version == Self.protocolVersion else {
                closeConnection(because: "the peer speaks PB version \(version), we speak \(Self.protocolVersion)")
                return
            }
            peerVersionReceived = true
            handshakeDeadline?.cancel()
        case .call(let call):
            receivedCall(call)
        case .answer(let requestID, let result):
            guard let promise = pendingCalls.removeValue(forKey: requestID) else {
                if abandonedRequests.remove(requestID) != nil {
                    // Nobody waits for it, but each reference in it still owes the peer its decref.
                    _ = resolveIncoming(result)
                    return
                }
                closeConnection(because: "answer for request \(requestID), which is not pending")
                return
            }
            promise.succeed(resolveIncoming(result))
        case .error(let requestID, let failure):
            guard let promise = pendingCalls.removeValue(forKey: requestID) else {
                if abandonedRequests.remove(requestID) != nil { return }
                closeConnection(because: "error for request \(requestID), which is not pending")
                return
            }
            promise.fail(PBCallError.remoteFailure(Self.failure(from: failure)))
        case .undecodableAnswer(let requestID, let error):
            pendingCalls.removeValue(forKey: requestID)?.fail(PBCallError.undecodableAnswer("\(error)"))
            closeConnection(because: "undecodable answer to request \(requestID): \(error)")
        case .undecodableCall(let requestID, let answerRequired, let error):
            logger.debug("refused a call with undecodable arguments", metadata: [
                "connection": "\(connection.id)", "error": "\(error)",
            ])
            if answerRequired {
                send(.error(requestID: requestID, failure: .failure(PBFailures.insecureJelly(Self.insecureValue(error)))))
                scheduleFlush()
            }
        case .decref(let luid):
            switch exports.release(luid) {
            case .unknown:
                logger.debug("decref of an object that is not exported", metadata: [
                    "connection": "\(connection.id)", "luid": "\(luid)",
                ])
            case .stillReferenced:
                break
            case .released(let object):
                logoutHooks.released(object)
            }
        case .decache, .uncache:
            break  // No cacheables are exported or held.
        case .didNotUnderstand(let command):
            logger.notice("the peer did not understand a command", metadata: [
                "connection": "\(connection.id)", "command": "\(String(decoding: command.prefix(32), as: UTF8.self))",
            ])
        }
    }

    /// The value Twisted puts in an InsecureJelly failure: the refused head's repr, e.g. `b'class'`.
    private static func insecureValue(_ error: JellyError) -> String {
        if case .insecure(let head) = error { return head }
        return "\(error)"
    }

    /// A received error payload as a failure; a payload that is not a CopyableFailure is kept as text.
    static func failure(from payload: JellyValue) -> JellyFailure {
        if case .failure(let failure) = payload { return failure }
        if case .shared(let shared) = payload { return failure(from: shared.value) }
        let text = payload.stringValue ?? "\(payload)"
        return JellyFailure(type: "builtins.str", value: text, parents: ["builtins.str", "builtins.object"])
    }

    private func receivedCall(_ call: PBCall) {
        let target: (any PBReferenceable)?
        switch call.object {
        case .name: target = call.object == .root ? root : nil
        case .luid(let luid): target = call.isCacheMessage ? nil : exports.object(luid)
        }
        guard let target else {
            if call.answerRequired {
                send(.error(requestID: call.requestID, failure: .failure(PBFailures.pbError("Invalid Object ID"))))
                scheduleFlush()
            }
            return
        }
        // One walk over the whole call, so that values shared between arguments are walked once.
        let resolved = resolveIncoming(.tuple(call.arguments))
        let arguments = resolved.arrayValue ?? call.arguments
        let keywords = resolveIncoming(call.keywords)
        let context = PBCallContext(connection: connection, broker: self)
        if let outcome = target.remoteMessageAtOnce(call.method, arguments: arguments, keywords: keywords, context: context) {
            // Answered without a task; the answer goes out with this loop turn's others.
            finishCall(call, target: target, outcome: outcome)
            scheduleFlush()
            return
        }
        if callsInFlight.wrappingAdd(1, ordering: .relaxed).newValue >= maxCallsInFlight {
            updateReading()
        }
        Task(executorPreference: taskExecutor) {
            let outcome: Result<JellyValue, any Error>
            do {
                outcome = .success(try await target.remoteMessage(
                    call.method, arguments: arguments, keywords: keywords, context: context))
            } catch {
                outcome = .failure(error)
            }
            self.completed(PBCompletedCall(call: call, target: target, outcome: outcome))
        }
    }

    /// Sends a finished remote method's answer (or failure), at the end of this loop turn.
    private func completed(_ completion: PBCompletedCall) {
        guard eventLoop.inEventLoop else {
            // Remote methods run on this loop (`taskExecutor`); this is only a safety net.
            eventLoop.execute { self.completed(completion) }
            return
        }
        callsInFlight.wrappingSubtract(1, ordering: .relaxed)
        finishCall(completion.call, target: completion.target, outcome: completion.outcome)
        scheduleFlush()
        updateReading()
    }

    /// Pauses reading and decoding while too many methods run or the peer does not read our
    /// answers; resumes both (first the messages already read) when both are fine again.
    func updateReading() {
        guard let context, phase != .closed else { return }
        let overloaded = callsInFlight.load(ordering: .relaxed) >= maxCallsInFlight
        let shouldPause = overloaded || !context.channel.isWritable
        if shouldPause != isReadingPaused {
            isReadingPaused = shouldPause
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: !shouldPause)
            if !shouldPause { context.read() }
        }
        if !shouldPause, !isDecoding, inbound != nil, !inboundNeedsMoreData {
            decodeInbound()
            scheduleFlush()
        }
    }

    private func finishCall(_ call: PBCall, target: any PBReferenceable, outcome: Result<JellyValue, any Error>) {
        switch outcome {
        case .success(let result):
            guard call.answerRequired, phase == .open else { return }
            do {
                try sendOrThrow(.answer(requestID: call.requestID, result: result))
            } catch {
                let failure = failureToSend(for: error, method: call.method, target: target)
                send(.error(requestID: call.requestID, failure: .failure(failure)))
            }
        case .failure(let error):
            let failure = failureToSend(for: error, method: call.method, target: target)
            guard call.answerRequired, phase == .open else { return }
            send(.error(requestID: call.requestID, failure: .failure(failure)))
        }
    }

    /// The failure the peer gets for `error`; unexpected errors are logged once and their text withheld.
    private func failureToSend(for error: any Error, method: String, target: any PBReferenceable) -> JellyFailure {
        switch error {
        case let failure as JellyFailure:
            return failure
        case PBCallError.noSuchMethod(let name):
            return target.isAvatar
                ? PBFailures.attributeError("'\(type(of: target))' object has no attribute 'perspective_\(name)'")
                : PBFailures.noSuchMethod(name)
        case PBCallError.badArguments(let reason):
            return PBFailures.typeError(reason)
        case PBCallError.remoteFailure(let failure):
            return failure
        default:
            logger.error("remote method failed", metadata: [
                "connection": "\(connection.id)", "method": "\(method.prefix(64))",
                "error": "\(String(reflecting: type(of: error)))",
            ])
            return PBFailures.pbError("remote method \(method.prefix(64)) failed")
        }
    }
}

/// A remote method that finished, on its way back to the event loop.
struct PBCompletedCall: Sendable {
    let call: PBCall
    let target: any PBReferenceable
    let outcome: Result<JellyValue, any Error>
}

/// A call we originate, on its way to the event loop.
struct PBOutgoingCall: Sendable {
    let objectID: PBObjectID
    let method: String
    let arguments: [JellyValue]
    let keywords: JellyDictionary
    let answerRequired: Bool
    let timeout: Duration?
    let promise: EventLoopPromise<JellyValue>
}
