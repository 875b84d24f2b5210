import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum RawSocketError: Error, CustomStringConvertible {
    case system(String, Int32)
    case timedOut(String)
    case closed(String)
    case unexpected(String)

    var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .timedOut(let what): "timed out: \(what)"
        case .closed(let what): "the server closed the connection: \(what)"
        case .unexpected(let what): what
        }
    }
}

/// How a bounded send ended.
enum SendOutcome: Equatable {
    /// Every byte was handed to the kernel.
    case sent
    /// The peer closed (EPIPE or ECONNRESET) after `bytesSent` bytes.
    case closed(bytesSent: Int)
    /// The peer stopped reading: nothing more could be written before the deadline.
    case stalled(bytesSent: Int)
}

/// A blocking-style TCP client over a non-blocking POSIX socket: every wait is a `poll`
/// with a deadline, so nothing here can hang. Not thread-safe except where noted: one
/// thread writes and one thread reads at most.
final class RawConnection: @unchecked Sendable {
    let fd: Int32
    private let lock = NSLock()
    private var isOpen = true
    /// Set once a read saw the end of the stream or a reset.
    private(set) var peerClosed = false
    var reader = ElementReader()

    private init(fd: Int32) {
        self.fd = fd
    }

    /// Wraps a socket accepted by a listener of the test (made non-blocking here).
    init(accepted fd: Int32) {
        self.fd = fd
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    /// Connects to `host:port` (optionally from `source`) within `timeout` seconds.
    static func connect(port: Int, host: String = "127.0.0.1", source: String? = nil, receiveBuffer: Int? = nil,
                        timeout: Double = 10) throws -> RawConnection {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError.system("socket", errno) }
        let connection = RawConnection(fd: fd)
        if let receiveBuffer {
            var size = Int32(receiveBuffer)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = try address(source, port: 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw RawSocketError.system("bind \(source)", errno) }
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var remote = try address(host, port: port)
        let started = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if started != 0 {
            guard errno == EINPROGRESS else { throw RawSocketError.system("connect", errno) }
            guard connection.poll(events: Int16(POLLOUT), timeout: timeout) else {
                throw RawSocketError.timedOut("connecting to \(host):\(port)")
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw RawSocketError.system("connect", error) }
        }
        return connection
    }

    private static func address(_ host: String, port: Int) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw RawSocketError.unexpected("bad address \(host)") }
        return address
    }

    /// Waits at most `timeout` seconds for `events`; answers whether they (or an error/hang-up) came.
    func poll(events: Int16, timeout: Double) -> Bool {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        let milliseconds = Int32(max(0, min(timeout, 3_600)) * 1000)
        let ready = Glibc.poll(&descriptor, 1, milliseconds)
        return ready > 0
    }

    /// Writes `bytes`, waiting at most `timeout` seconds in all for the socket to take them,
    /// and at most `stallAfter` seconds (when given) for any progress.
    @discardableResult
    func send(_ bytes: [UInt8], timeout: Double = 10, stallAfter: Double? = nil) -> SendOutcome {
        let deadline = Date().addingTimeInterval(timeout)
        var lastProgress = Date()
        var offset = 0
        return bytes.withUnsafeBytes { raw -> SendOutcome in
            while offset < raw.count {
                let written = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if written > 0 {
                    offset += written
                    lastProgress = Date()
                    continue
                }
                let code = errno
                if written < 0, code == EAGAIN || code == EWOULDBLOCK || code == EINTR {
                    var left = deadline.timeIntervalSinceNow
                    if let stallAfter { left = min(left, stallAfter - Date().timeIntervalSince(lastProgress)) }
                    // poll also wakes for an error or hang-up: the next send tells which.
                    if left <= 0 || !poll(events: Int16(POLLOUT), timeout: left) {
                        let stalled = stallAfter.map { Date().timeIntervalSince(lastProgress) >= $0 } ?? false
                        if stalled || deadline.timeIntervalSinceNow <= 0 { return .stalled(bytesSent: offset) }
                    }
                    continue
                }
                return .closed(bytesSent: offset)
            }
            return .sent
        }
    }

    /// Reads what is there (waiting at most `timeout` seconds for the first byte); nil once the
    /// peer closed. An empty array means nothing came in time.
    func receive(timeout: Double, maxBytes: Int = 1 << 16) -> [UInt8]? {
        if peerClosed { return nil }
        guard poll(events: Int16(POLLIN), timeout: timeout) else { return [] }
        var chunk = [UInt8](repeating: 0, count: maxBytes)
        let count = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 { return Array(chunk[0..<count]) }
        if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return [] }
        peerClosed = true
        return nil
    }

    /// Reads until the server closes (keeping the first MiB for `receivedSummary`, dropping
    /// the rest); answers whether it closed within `seconds`.
    func waitForServerClose(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let left = deadline.timeIntervalSinceNow
            if peerClosed { return true }
            if left <= 0 { return false }
            guard let bytes = receive(timeout: left) else { return true }
            if reader.pendingBytes < 1 << 20 { reader.append(bytes) }
        }
    }

    /// The first messages received and not consumed yet, for failure messages.
    func receivedSummary(limit: Int = 3) -> String {
        var copy = reader
        var parts: [String] = []
        while parts.count < limit, let element = try? copy.next() {
            parts.append(String(element.description.prefix(300)))
        }
        if parts.isEmpty { return copy.pendingBytes == 0 ? "nothing" : "\(copy.pendingBytes) bytes" }
        return parts.joined(separator: "; ")
    }

    /// Whether the server has closed by now, reading (and keeping) whatever else waits.
    func isClosedByServer(waiting seconds: Double = 0) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            guard let bytes = receive(timeout: max(0, deadline.timeIntervalSinceNow)) else { return true }
            if bytes.isEmpty { return false }
            reader.append(bytes)
        } while true
    }

    /// The next whole Banana element, waiting at most `timeout` seconds; nil when the server
    /// closed or nothing whole came in time (then `peerClosed` tells which).
    func nextElement(timeout: Double) throws -> Element? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let element = try reader.next() { return element }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            guard let bytes = receive(timeout: left) else { return nil }
            reader.append(bytes)
        }
    }

    /// Whether the peer closed (a FIN or a reset), found out without reading anything:
    /// for a peer that never reads, whose receive buffer stays full.
    func peerHungUp(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        let rdhup: Int16 = 0x2000  // POLLRDHUP: the peer shut down its side
        repeat {
            var descriptor = pollfd(fd: fd, events: rdhup, revents: 0)
            let left = max(0, deadline.timeIntervalSinceNow)
            if Glibc.poll(&descriptor, 1, Int32(min(left, 1) * 1000)) > 0,
               descriptor.revents & (rdhup | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
                return true
            }
        } while Date() < deadline
        return false
    }

    /// Ends our sending side (a TCP half-close).
    func shutdownWrite() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Closes the socket (idempotent, any thread).
    func close() {
        let shouldClose = lock.withLock { () -> Bool in
            defer { isOpen = false }
            return isOpen
        }
        if shouldClose { _ = Glibc.close(fd) }
    }
}

/// Raises this process's open-file limit to at least `wanted` (within the hard limit);
/// child daemons started afterwards inherit it. Answers the soft limit now in force.
@discardableResult
func raiseOpenFileLimit(to wanted: Int) -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < rlim_t(wanted) {
        limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(limit.rlim_cur)
}
