import Banana
import NIOCore

/// What the peer can tell from the two byte streams: everything the server writes, decoded
/// as a PB client decodes it, and everything the server has read, decoded by a decoder with
/// the logged-in limits (never stricter than the broker's own). The invariants about answers
/// and references compare the two.
struct PeerView {
    // MARK: The server's writes

    private var outboundDecoder = PBFrameDecoder(role: .client, limits: .twisted)
    private var outbound = ByteBuffer()
    private(set) var outboundBytes = 0
    private(set) var sawOffer = false
    private(set) var versionsReceived = 0
    /// Answers and errors received, by request id.
    private(set) var answers: [Int: Int] = [:]
    /// The decrefs the server sent, by luid.
    private var decrefsSent: [Int: Int] = [:]
    /// Every message, while `keepsMessages` (the harness's own login reads them).
    private(set) var messages: [PBMessage] = []
    var keepsMessages = false

    // MARK: What the server read

    private var inboundDecoder = PBFrameDecoder(role: .server, limits: .twisted)
    private var inbound = ByteBuffer()
    private(set) var inboundBytes = 0
    /// Whether the bytes read so far break the protocol even under the logged-in limits.
    private(set) var inboundFailed = false
    /// Calls that want an answer, by request id.
    private(set) var callsNeedingAnswers: [Int: Int] = [:]
    /// How many `[remote, N]` the peer sent, by luid (each may cost one decref).
    private var remotesSent: [Int: Int] = [:]

    /// Takes bytes the server wrote; they must decode.
    mutating func serverWrote(_ buffer: ByteBuffer) {
        outboundBytes += buffer.readableBytes
        outbound.writeImmutableBuffer(buffer)
        while true {
            let frame: PBFrame?
            do {
                frame = try outboundDecoder.decodeFrame(from: &outbound)
            } catch {
                preconditionFailure("the server wrote bytes a PB client cannot decode: \(error)")
            }
            guard let frame else { break }
            switch frame {
            case .dialectOffer:
                precondition(!sawOffer, "the server offered dialects twice")
                sawOffer = true
            case .dialectChoice:
                preconditionFailure("a client decoder decoded a dialect choice")
            case .message(let message):
                serverSent(message)
            }
        }
        outbound.discardReadBytes()
    }

    private mutating func serverSent(_ message: PBMessage) {
        if keepsMessages { messages.append(message) }
        switch message {
        case .version(let version):
            precondition(version == 6, "the server announced PB version \(version)")
            versionsReceived += 1
            precondition(versionsReceived == 1, "the server sent its version twice")
        case .answer(let requestID, _), .error(let requestID, _):
            precondition(versionsReceived == 1, "the server answered before it sent its version")
            answers[requestID, default: 0] += 1
            // Only what was asked is answered, and each call once.
            precondition(answers[requestID]! <= callsNeedingAnswers[requestID, default: 0],
                         "the server answered request \(requestID) \(answers[requestID]!) time(s); the peer asked \(callsNeedingAnswers[requestID, default: 0])")
        case .decref(let luid):
            decrefsSent[luid, default: 0] += 1
            precondition(decrefsSent[luid]! <= remotesSent[luid, default: 0],
                         "the server sent \(decrefsSent[luid]!) decref(s) of luid \(luid); the peer sent \(remotesSent[luid, default: 0]) reference(s)")
        case .call, .decache, .uncache, .didNotUnderstand:
            // pbauth's objects never call the peer, and it holds no caches.
            preconditionFailure("the server sent an unexpected message: \(message)")
        case .undecodableCall, .undecodableAnswer:
            // What the server sends must decode even under a Twisted client's limits.
            preconditionFailure("the server sent a message a PB client cannot unjelly: \(message)")
        }
    }

    /// Takes bytes the server read.
    mutating func serverRead(_ buffer: ByteBuffer) {
        inboundBytes += buffer.readableBytes
        guard !inboundFailed else { return }
        inbound.writeImmutableBuffer(buffer)
        while true {
            let frame: PBFrame?
            do {
                frame = try inboundDecoder.decodeFrame(from: &inbound)
            } catch {
                inboundFailed = true
                inbound.clear()
                return
            }
            guard let frame else { break }
            guard case .message(let message) = frame else { continue }
            switch message {
            case .call(let call):
                if call.answerRequired { callsNeedingAnswers[call.requestID, default: 0] += 1 }
                countRemotes(.tuple(call.arguments))
                countRemotes(.dictionary(call.keywords))
            case .undecodableCall(let requestID, let answerRequired, _):
                if answerRequired { callsNeedingAnswers[requestID, default: 0] += 1 }
            case .answer(_, let result):
                countRemotes(result)
            default:
                break
            }
        }
        inbound.discardReadBytes()
    }

    /// Counts `[remote, N]` as the broker resolves them: once per occurrence, a shared value once.
    private mutating func countRemotes(_ value: JellyValue) {
        var seen: Set<ObjectIdentifier> = []
        var stack = [value]
        while let next = stack.popLast() {
            switch next {
            case .remote(let luid):
                remotesSent[luid, default: 0] += 1
            case .list(let items), .tuple(let items), .set(let items), .frozenSet(let items):
                stack.append(contentsOf: items)
            case .dictionary(let dictionary):
                for entry in dictionary.entries { stack.append(entry.key); stack.append(entry.value) }
            case .shared(let shared):
                if seen.insert(ObjectIdentifier(shared)).inserted { stack.append(shared.value) }
            default:
                break
            }
        }
    }

    /// Request ids whose calls wanted an answer and got fewer than they asked for.
    var unansweredRequests: [Int] {
        callsNeedingAnswers.compactMap { id, wanted in answers[id, default: 0] < wanted ? id : nil }.sorted()
    }
}
