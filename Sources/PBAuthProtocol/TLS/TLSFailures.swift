import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// Counts a listener's failed TLS handshakes and logs them without letting a flood of
/// them flood the log: the counts are written a second after the first failure, one line
/// per reason, as `PBServer` does with refused connections.
public final class TLSFailureCounter: Sendable {
    private struct Pending {
        var counts: [String: Int] = [:]
        var isLogScheduled = false
    }

    private let logger: Logger
    private let listener: String
    private let total = Atomic<Int>(0)
    private let pending = Mutex(Pending())

    /// A counter whose log lines name `listener` (its address).
    public init(listener: String, logger: Logger) {
        self.listener = listener
        self.logger = logger
    }

    /// Failed TLS handshakes since the start (a peer that closed during the handshake, sent
    /// something that is not TLS, offered nothing we accept, or had no valid client certificate).
    public var failedHandshakes: Int { total.load(ordering: .relaxed) }

    /// Counts one failed handshake; `eventLoop` runs the delayed log line.
    func count(reason: String, on eventLoop: any EventLoop) {
        total.wrappingAdd(1, ordering: .relaxed)
        let schedule = pending.withLock { pending -> Bool in
            // At most 32 distinct reasons wait: the rest are counted under one.
            let key = pending.counts.count < 32 || pending.counts[reason] != nil ? reason : "other"
            pending.counts[key, default: 0] += 1
            defer { pending.isLogScheduled = true }
            return !pending.isLogScheduled
        }
        guard schedule else { return }
        eventLoop.scheduleTask(in: .seconds(1)) { [self] in
            let counts = pending.withLock { pending -> [String: Int] in
                defer {
                    pending.counts.removeAll()
                    pending.isLogScheduled = false
                }
                return pending.counts
            }
            for (reason, count) in counts.sorted(by: { $0.key < $1.key }) {
                logger.notice("failed TLS handshakes", metadata: [
                    "listener": "\(listener)", "reason": "\(reason)", "count": "\(count)", "total": "\(failedHandshakes)",
                ])
            }
        }
    }
}

/// The first TLS failure of one client connection, for the caller to log in its own words.
public final class TLSFailureNote: Sendable {
    private let reason = Mutex<String?>(nil)

    /// An empty note.
    public init() {}

    /// Why the connection's TLS failed, or `nil` if it did not.
    public var failure: String? { reason.withLock { $0 } }

    func record(_ text: String) {
        reason.withLock { if $0 == nil { $0 = text } }
    }
}

/// Sits right above the TLS handler: TLS errors stop here. A failed handshake is counted (on
/// a listener) and noted (on a client connection), and the connection closed, so the broker
/// above never logs a line of its own for it; a peer that drops a connection without TLS's
/// closing alert is closed quietly, as a plain connection's end is. Other errors pass up.
///
/// On a client connection with `requiredDNSName` it also checks, once the handshake is done,
/// that the server's certificate holds that DNS name: swift-nio-ssl accepts a certificate
/// that holds the IP address connected to whatever the name, and a name the operator gave
/// (`upstream_server_name`) must not be bypassed that way.
final class TLSFailureWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let counter: TLSFailureCounter?
    private let note: TLSFailureNote?
    private let requiredDNSName: String?
    private var isHandshakeDone = false
    private var isFailed = false
    private var hasReceivedData = false

    init(counter: TLSFailureCounter?, note: TLSFailureNote?, requiredDNSName: String? = nil) {
        self.counter = counter
        self.note = note
        self.requiredDNSName = requiredDNSName
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Nothing from a connection whose TLS failed reaches the broker.
        guard !isFailed else { return }
        hasReceivedData = true
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            isHandshakeDone = true
            if let requiredDNSName, !Self.peerHolds(dnsName: requiredDNSName, context: context) {
                fail("the certificate does not hold the name \(requiredDNSName.prefix(253))", context: context)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Closed (by the peer, or by the broker's handshake or stranger timeout) before the
        // handshake finished, without a TLS error: a failed handshake too.
        if !isHandshakeDone, !isFailed {
            isFailed = true
            counter?.count(reason: "closed before the handshake finished", on: context.eventLoop)
            note?.record("closed before the handshake finished")
        } else if isHandshakeDone, !hasReceivedData, !isFailed {
            // A server that closes before its first byte of PB: with TLS 1.3 a refused client
            // certificate may show only this way when its alert is lost.
            isFailed = true
            note?.record("the server closed the connection right after the handshake (does it require another client certificate?)")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard Self.isTLSError(error) else {
            context.fireErrorCaught(error)
            return
        }
        if isHandshakeDone {
            if case NIOSSLError.uncleanShutdown = error {
                // The peer closed without TLS's closing alert: an ordinary end of a connection.
                context.close(promise: nil)
                return
            }
            if note == nil {
                // A listener's connection that breaks TLS after its handshake (a bad record):
                // a connection-level error like any other; the broker logs its one line and closes.
                context.fireErrorCaught(error)
                return
            }
        }
        fail(Self.reason(error), context: context)
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        if !isFailed {
            isFailed = true
            if !isHandshakeDone || requiredDNSName != nil { counter?.count(reason: reason, on: context.eventLoop) }
            // A client also learns of failures just after its side of the handshake (with TLS 1.3
            // a server refuses a client certificate only then).
            note?.record(reason)
        }
        context.close(promise: nil)
    }

    /// Whether the verified peer certificate holds `dnsName` as a DNS subject alternative
    /// name (a wildcard stands for exactly the leftmost label).
    private static func peerHolds(dnsName: String, context: ChannelHandlerContext) -> Bool {
        guard let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self),
              let certificate = handler.peerCertificate else { return false }
        let wanted = Array((dnsName.hasSuffix(".") ? String(dnsName.dropLast()) : dnsName).lowercased().utf8)
        for name in certificate._subjectAlternativeNames() where name.nameType == .dnsName {
            var candidate = Array(name.contents).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
            if candidate.last == UInt8(ascii: ".") { candidate.removeLast() }
            if candidate == wanted { return true }
            if candidate.starts(with: Array("*.".utf8)), let dot = wanted.firstIndex(of: UInt8(ascii: ".")),
               dot > 0, wanted[dot...].elementsEqual(candidate.dropFirst()) {
                return true
            }
        }
        return false
    }

    private static func isTLSError(_ error: any Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError || error is NIOSSLCloseTimedOutError
    }

    /// A short reason: BoringSSL's reason codes (`WRONG_VERSION_NUMBER`,
    /// `CERTIFICATE_VERIFY_FAILED`, ...) without file names, or swift-nio-ssl's own text.
    /// Neither holds a secret; both are bounded.
    static func reason(_ error: any Error) -> String {
        let stack: NIOBoringSSLErrorStack?
        switch error {
        case NIOSSLError.handshakeFailed(let inner): stack = inner.errorStack
        case let inner as BoringSSLError: stack = inner.errorStack
        default: stack = nil
        }
        if let stack, !stack.isEmpty {
            let reasons = stack.prefix(4).map { element -> String in
                let text = "\(element)"
                // "Error: CODE error:HEX:SSL routines:OPENSSL_internal:REASON at FILE:LINE"
                let parts = text.split(separator: ":", omittingEmptySubsequences: false)
                guard let marker = parts.firstIndex(where: { $0 == "OPENSSL_internal" }), marker + 1 < parts.count else {
                    // A synthetic error ("EOF during handshake") has no code: "Error:  " then the text.
                    let message = text.hasPrefix("Error: ") ? text.dropFirst(7).drop { $0 == " " } : Substring(text)
                    return String(message.prefix(80))
                }
                return String(parts[marker + 1].prefix { $0 != " " }.prefix(80))
            }
            return reasons.joined(separator: ", ")
        }
        return String("\(error)".prefix(160))
    }
}

extension BoringSSLError {
    /// The error stack of the kinds that carry one.
    fileprivate var errorStack: NIOBoringSSLErrorStack? {
        switch self {
        case .sslError(let stack), .unknownError(let stack), .invalidSNIName(let stack), .failedToSetALPN(let stack): stack
        default: nil
        }
    }
}
