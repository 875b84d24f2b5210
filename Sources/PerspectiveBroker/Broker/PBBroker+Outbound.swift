import Banana
import NIOCore

/// Sending: encoding into one coalesced buffer, exporting objects, and calls we originate.
extension PBBroker {
    /// Encodes `message` into the outbound buffer; logs and drops it if it cannot be encoded.
    func send(_ message: PBMessage) {
        do {
            try sendOrThrow(message)
        } catch PBCallError.connectionLost {
            // The connection closed (or is closing) meanwhile: there is no one to send it to.
        } catch {
            logger.error("could not encode an outgoing PB message", metadata: [
                "connection": "\(connection.id)", "error": "\(error)",
            ])
        }
    }

    /// Encodes `message` into the outbound buffer, or leaves buffer and export table as they were and throws.
    func sendOrThrow(_ message: PBMessage) throws {
        guard phase == .open, let context else { throw PBCallError.connectionLost }
        var buffer = outbound ?? context.channel.allocator.buffer(capacity: 1024)
        // The only reference while encoding: a second one in `outbound` made every write copy the buffer.
        outbound = nil
        let mark = buffer.writerIndex
        exportedDuringEncoding.removeAll(keepingCapacity: true)
        refusedDuringEncoding = nil
        do {
            try PBEncoder.write(message, dialect: dialect, into: &buffer) { object in
                try self.outgoingReference(to: object)
            }
        } catch {
            buffer.moveWriterIndex(to: mark)
            outbound = buffer
            for luid in exportedDuringEncoding { _ = exports.release(luid) }
            exportedDuringEncoding.removeAll()
            if exports.refusals > Self.maxExportRefusals {
                // Like Twisted: a peer that keeps hoarding references loses the connection.
                closeConnection(because: "the export limit of \(exports.limit) objects was hit more than \(Self.maxExportRefusals) times")
            }
            // The codec may wrap what the object hook threw; the hook's own failure says more.
            throw refusedDuringEncoding ?? error
        }
        exportedDuringEncoding.removeAll()
        outbound = buffer
    }

    /// How an object travels: our own objects by `[remote, luid]`, the peer's back as `[local, luid]`.
    private func outgoingReference(to object: any JellyObject) throws -> JellyValue {
        do {
            if let reference = object as? PBRemoteReference {
                guard reference.broker === self, case .luid(let luid) = reference.objectID else {
                    throw PBCallError.unsendable("a remote reference can only be sent back over its own connection")
                }
                return .local(luid)
            }
            if let referenceable = object as? any PBReferenceable {
                let luid = try exports.export(referenceable)
                exportedDuringEncoding.append(luid)
                if referenceable.isAvatar { becameLoggedIn() }
                return .remote(luid)
            }
            throw PBCallError.unsendable("\(type(of: object)) is not a PBReferenceable")
        } catch {
            refusedDuringEncoding = error
            throw error
        }
    }

    /// Writes what is buffered, once per read burst or per loop turn.
    func scheduleFlush() {
        guard !isInReadBurst, !isFlushScheduled else { return }
        isFlushScheduled = true
        eventLoop.execute {
            self.isFlushScheduled = false
            self.flushNow()
        }
    }

    func flushNow() {
        guard let buffer = outbound, buffer.readableBytes > 0, let context, phase != .closed else { return }
        outbound = nil
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        // Reading pauses while the channel is not writable, so only answers already under way
        // can pile up; a peer that leaves more than the bound unread loses the connection.
        if !context.channel.isWritable,
           let unread = try? context.channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes),
           unread > maxBufferedOutboundBytes {
            closeConnection(because: "the peer left more than \(maxBufferedOutboundBytes) bytes of answers unread")
        }
    }

    /// Sends a call to the peer's object `objectID`; answers the result (`.none` without answer).
    /// Callable from any thread.
    func call(_ objectID: PBObjectID, method: String, arguments: [JellyValue], keywords: JellyDictionary,
              answerRequired: Bool, timeout: Duration? = nil) async throws -> JellyValue {
        guard isOpenFlag.load(ordering: .acquiring) else { throw PBCallError.deadReference }
        let promise = eventLoop.makePromise(of: JellyValue.self)
        if eventLoop.inEventLoop, outgoingCalls.withLock({ $0.isEmpty }) {
            // Called from a task on this loop: send now, flush at the end of the loop turn.
            startCall(objectID, method: method, arguments: arguments, keywords: keywords,
                      answerRequired: answerRequired, timeout: timeout, promise: promise)
            scheduleFlush()
            return try await promise.futureResult.get()
        }
        let outgoing = PBOutgoingCall(objectID: objectID, method: method, arguments: arguments, keywords: keywords,
                                      answerRequired: answerRequired, timeout: timeout, promise: promise)
        // Calls made close together share one loop turn and one write.
        let isFirst = outgoingCalls.withLock { queue in
            queue.append(outgoing)
            return queue.count == 1
        }
        if isFirst {
            eventLoop.execute {
                let batch = self.outgoingCalls.withLock { queue in
                    defer { queue.removeAll(keepingCapacity: true) }
                    return queue
                }
                for call in batch {
                    self.startCall(call.objectID, method: call.method, arguments: call.arguments, keywords: call.keywords,
                                   answerRequired: call.answerRequired, timeout: call.timeout, promise: call.promise)
                }
                if !self.isInReadBurst { self.flushNow() }
            }
        }
        return try await promise.futureResult.get()
    }

    private func startCall(_ objectID: PBObjectID, method: String, arguments: [JellyValue], keywords: JellyDictionary,
                           answerRequired: Bool, timeout: Duration?, promise: EventLoopPromise<JellyValue>) {
        guard phase == .open else {
            promise.fail(phase == .closed ? PBCallError.deadReference : PBCallError.connectionLost)
            return
        }
        if answerRequired, pendingCalls.count >= settings.maxPendingCalls {
            promise.fail(PBCallError.tooManyPendingCalls(limit: settings.maxPendingCalls))
            return
        }
        lastRequestID += 1
        let requestID = lastRequestID
        let call = PBCall(requestID: requestID, object: objectID, method: method, answerRequired: answerRequired,
                          arguments: arguments, keywords: keywords, isCacheMessage: false)
        if answerRequired { pendingCalls[requestID] = promise }
        do {
            try sendOrThrow(.call(call))
        } catch {
            pendingCalls[requestID] = nil
            promise.fail(error is PBCallError ? error : PBCallError.unsendable("\(error)"))
            return
        }
        if !answerRequired {
            promise.succeed(.none)
        } else if let timeout {
            limit(requestID, to: timeout, promise: promise)
        }
    }

    /// Fails the pending call `requestID` with `PBCallError.timedOut` unless it is answered within
    /// `timeout`: a timer on this loop, not a task, so a call with a limit costs little more than one without.
    private func limit(_ requestID: Int, to timeout: Duration, promise: EventLoopPromise<JellyValue>) {
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [self] in
            guard let late = pendingCalls.removeValue(forKey: requestID) else { return }
            // Its answer may still come; it is then dropped instead of closing the connection.
            abandonedRequests.insert(requestID)
            if abandonedRequests.count > Self.maxAbandonedRequests {
                closeConnection(because: "more than \(Self.maxAbandonedRequests) calls went unanswered")
            }
            late.fail(PBCallError.timedOut)
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
    }

    /// Sends the one `decref` owed for a dropped remote reference. Callable from any thread.
    func releaseRemoteReference(_ luid: Int) {
        guard isOpenFlag.load(ordering: .relaxed) else { return }
        eventLoop.execute {
            guard self.phase == .open else { return }
            self.send(.decref(luid: luid))
            self.scheduleFlush()
        }
    }

    /// Runs `logout` when `avatar` is released or the connection closes. Callable from any thread.
    func attachLogout(_ logout: @escaping @Sendable () -> Void, to avatar: any PBReferenceable) {
        logoutHooks.attach(logout, to: avatar)
    }
}
