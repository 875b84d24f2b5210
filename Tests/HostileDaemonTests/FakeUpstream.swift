import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tiny PB server standing in for a subordinate's upstream: it speaks just enough PB to
/// accept the subordinate's broker login (offer, version, `login` answered with a challenge
/// and `[remote, 1]`, `respond` with `[remote, 2]`), then misbehaves on cue.
final class FakeUpstream: @unchecked Sendable {
    enum Misbehaviour: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Bytes that are not Banana, in place of the answer to `authenticate_account`.
        case garbage
        /// A 10 MB answer to `authenticate_account`.
        case hugeAnswer
        /// Answers and errors for request ids the subordinate never used, instead of the real one.
        case unknownRequestIDs
        /// `authenticate_account` is never answered (the link itself stays up).
        case neverAnswers
        /// Garbage right after every broker login, before any user logs in.
        case garbageAfterLogin

        var description: String { rawValue }
    }

    let port: Int
    let misbehaviour: Misbehaviour
    private let listener: Int32
    private let lock = NSLock()
    private var misbehaving = true
    private var stopped = false
    private var connections = 0
    private var authenticateCalls = 0
    private var sockets: [RawConnection] = []
    private let acceptorDone = DispatchSemaphore(value: 0)

    init(_ misbehaviour: Misbehaviour) throws {
        self.misbehaviour = misbehaviour
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError.system("socket", errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            Glibc.close(fd)
            throw RawSocketError.system("bind/listen", errno)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// From now on, answer like a real upstream (a cookie login of any user succeeds).
    func behave() { lock.withLock { misbehaving = false } }

    /// Broker logins the subordinate has made so far (one per connection it kept).
    var connectionCount: Int { lock.withLock { connections } }
    var authenticateCount: Int { lock.withLock { authenticateCalls } }

    /// Stops accepting and closes every connection.
    func stop() {
        let open = lock.withLock { () -> [RawConnection] in
            stopped = true
            return sockets
        }
        for socket in open { socket.close() }
        _ = acceptorDone.wait(timeout: .now() + 3)
        Glibc.close(listener)
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        defer { acceptorDone.signal() }
        while !isStopped {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&descriptor, 1, 100) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            let socket = RawConnection(accepted: fd)
            lock.withLock { sockets.append(socket) }
            Thread.detachNewThread { [self] in
                serve(socket)
                socket.close()
            }
        }
    }

    /// One connection from the subordinate, until it closes or the fake stops.
    private func serve(_ socket: RawConnection) {
        guard socket.send(Wire.dialectOffer, timeout: 5) == .sent else { return }
        var choseDialect = false
        while !isStopped {
            let message: Element?
            do {
                message = try socket.nextElement(timeout: 0.2)
            } catch {
                return
            }
            guard let message else {
                if socket.peerClosed { return }
                continue
            }
            if !choseDialect {
                choseDialect = true
                guard message == .string(Array("pb".utf8)) else { return }
                socket.send(Wire.version, timeout: 5)
                continue
            }
            guard message.head == "message", let items = message.items, items.count == 7, let id = items[1].intValue,
                  let method = items[3].text else { continue }
            let object = items[2].intValue.map(String.init) ?? items[2].text ?? ""
            switch (object, method) {
            case ("root", "login"):
                let challenge = (0..<16).map { _ in UInt8.random(in: 0...255) }
                socket.send(Wire.answer(id, .tuple([.bytes(challenge), .list([.vocab(V.remote), .int(1)])])), timeout: 5)
            case ("1", "respond"):
                socket.send(Wire.answer(id, .list([.vocab(V.remote), .int(2)])), timeout: 5)
                lock.withLock { connections += 1 }
                if misbehaviour == .garbageAfterLogin, lock.withLock({ misbehaving }) {
                    socket.send(Self.garbage, timeout: 5)
                }
            case ("2", "authenticate_account"):
                lock.withLock { authenticateCalls += 1 }
                if lock.withLock({ misbehaving }) {
                    misbehave(socket, requestID: id)
                } else {
                    let username = items[5].items?.dropFirst().first?.items?.last?.text ?? Deployment.user
                    socket.send(Wire.answer(id, Self.status(username)), timeout: 5)
                }
            default:
                // ping() and anything else on the avatar: None.
                if items[4].intValue == 1 { socket.send(Wire.answer(id, .none), timeout: 5) }
            }
        }
    }

    private func misbehave(_ socket: RawConnection, requestID: Int) {
        switch misbehaviour {
        case .garbage, .garbageAfterLogin:
            socket.send(Self.garbage, timeout: 5)
        case .hugeAnswer:
            // 16 strings of 640 KiB: each within Banana's string limit, 10 MiB together.
            let strings = (0..<16).map { _ in W.bytes([UInt8](repeating: 0x5a, count: 655_360)) }
            socket.send(Wire.answer(requestID, .tuple(strings)), timeout: 20)
        case .unknownRequestIDs:
            socket.send(Wire.answer(999, .none) + Wire.error(998, .unicode("no such call")) + Wire.answer(requestID + 1_000, .none),
                        timeout: 5)
        case .neverAnswers:
            break
        }
    }

    /// Not Banana at all: type bytes past 0x87.
    static let garbage: [UInt8] = (0..<256).map { UInt8(0x88 + $0 % 0x78) }

    /// What a master answers for a cookie login of `username` (protocol.md section 5).
    static func status(_ username: String) -> W {
        .dictionary([
            ("username", .unicode(username)),
            ("kind", .unicode("user")),
            ("master", .bool(false)),
            ("session", .unicode("fake-session")),
            ("expires", .int(Int(Date().timeIntervalSince1970) + 3_600)),
        ])
    }
}
