import Foundation
import PerspectiveBroker

/// What came back for one request.
enum Reply: CustomStringConvertible {
    case answer(Element)
    case error(Element)
    /// The server closed the connection before replying.
    case closed
    /// Nothing came in time (the connection is still open).
    case noReply

    var description: String {
        switch self {
        case .answer(let value): "answer \(value)"
        case .error(let value): "error \(value)"
        case .closed: "connection closed by the server"
        case .noReply: "no reply in time"
        }
    }

    var isUnauthorizedLogin: Bool {
        if case .error(let failure) = self { return failure.mentions("twisted.cred.error.UnauthorizedLogin") }
        return false
    }
}

/// A hand-written PB client over a `RawConnection`: the dialect, the version, calls and
/// their replies, and the cred login, with every byte under the test's control.
final class RawPB: @unchecked Sendable {
    let socket: RawConnection
    private var lastRequestID = 0
    /// Replies read while waiting for another request.
    private var replies: [Int: Reply] = [:]

    init(_ socket: RawConnection) {
        self.socket = socket
    }

    /// Connects and completes the handshake (reads the offer, sends `pb` and the version,
    /// reads the server's version). Throws if the server closes or stays silent.
    static func open(port: Int, source: String? = nil, receiveBuffer: Int? = nil) throws -> RawPB {
        let socket = try RawConnection.connect(port: port, source: source, receiveBuffer: receiveBuffer)
        let peer = RawPB(socket)
        try peer.handshake()
        return peer
    }

    /// Connects without saying anything.
    static func connect(port: Int, source: String? = nil, receiveBuffer: Int? = nil) throws -> RawPB {
        RawPB(try RawConnection.connect(port: port, source: source, receiveBuffer: receiveBuffer))
    }

    func handshake(timeout: Double = 10) throws {
        guard let offer = try socket.nextElement(timeout: timeout) else {
            throw socket.peerClosed ? RawSocketError.closed("before the dialect offer") : RawSocketError.timedOut("dialect offer")
        }
        guard offer.items?.contains(.string(Array("pb".utf8))) == true else {
            throw RawSocketError.unexpected("dialect offer \(offer)")
        }
        guard socket.send(Wire.handshake) == .sent else { throw RawSocketError.closed("sending the handshake") }
        guard let version = try socket.nextElement(timeout: timeout) else {
            throw socket.peerClosed ? RawSocketError.closed("before the version") : RawSocketError.timedOut("version")
        }
        guard version == .list([.string(Array("version".utf8)), .int(6)]) else {
            throw RawSocketError.unexpected("version message \(version)")
        }
    }

    /// The next request id (1, 2, …), as a Twisted client numbers its calls.
    func nextRequestID() -> Int {
        lastRequestID += 1
        return lastRequestID
    }

    /// Sends a call and answers its request id (without waiting for the reply).
    @discardableResult
    func send(_ object: ObjectID, _ method: String, _ arguments: [W] = [], keywords: [(W, W)] = []) -> (id: Int, outcome: SendOutcome) {
        let id = nextRequestID()
        return (id, socket.send(Wire.call(id, object, method, arguments, keywords: keywords)))
    }

    /// Waits at most `timeout` seconds for the reply to `requestID`, keeping others for later.
    func reply(to requestID: Int, timeout: Double = 15) throws -> Reply {
        if let reply = replies.removeValue(forKey: requestID) { return reply }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            guard let message = try socket.nextElement(timeout: deadline.timeIntervalSinceNow) else {
                return socket.peerClosed ? .closed : .noReply
            }
            guard let items = message.items, items.count == 3, let id = items[1].intValue else { continue }
            let reply: Reply
            switch message.head {
            case "answer": reply = .answer(items[2])
            case "error": reply = .error(items[2])
            default: continue
            }
            if id == requestID { return reply }
            replies[id] = reply
        }
    }

    /// Sends a call and waits for its reply.
    func call(_ object: ObjectID, _ method: String, _ arguments: [W] = [], keywords: [(W, W)] = [],
              timeout: Double = 15) throws -> Reply {
        let (id, outcome) = send(object, method, arguments, keywords: keywords)
        if case .closed = outcome { return .closed }
        return try reply(to: id, timeout: timeout)
    }

    /// The cred login of a Twisted client: `root.login(username)`, then
    /// `challenger.respond(MD5(MD5(secret) + challenge), None)`. Answers the avatar's luid.
    func login(username: String, secret: String) throws -> Int {
        let first = try call(.root, "login", [.str(username)])
        guard case .answer(let pair) = first, let items = pair.items, items.count == 3,
              let challenge = items[1].bytes, let challenger = items[2].remoteLuid else {
            throw RawSocketError.unexpected("login(\(username)) gave \(first)")
        }
        let response = PBLoginChallenge.response(secret: Array(secret.utf8), challenge: challenge)
        let second = try call(.luid(challenger), "respond", [.bytes(response), .none])
        guard case .answer(let avatar) = second, let luid = avatar.remoteLuid else {
            throw RawSocketError.unexpected("respond gave \(second)")
        }
        return luid
    }
}
