import Foundation

/// A blocking TCP client for the listener's tests: sends raw bytes and reads what comes back
/// until the peer closes or a bounded wait runs out. Every wait is bounded.
public final class RawHTTPConnection {
    private let descriptor: Int32

    /// Connects to 127.0.0.1:`port`; reads wait at most 15 s.
    public init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RawHTTPError.socket(errno) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw RawHTTPError.connect(errno)
        }
    }

    deinit { close(descriptor) }

    /// Writes `text`; answers false when the peer already closed.
    @discardableResult
    public func send(_ text: String) -> Bool {
        send(Array(text.utf8))
    }

    /// Writes `bytes`; answers false when the peer already closed.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Reads until `stop` holds for what arrived, the peer closes, or the 15 s receive timeout.
    /// Answers the text and whether the peer closed.
    public func read(until stop: (String) -> Bool = { _ in false }) -> (text: String, closed: Bool) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (String(decoding: data, as: UTF8.self), true) }
            if count < 0 { return (String(decoding: data, as: UTF8.self), errno == ECONNRESET) }
            data += buffer[0..<count]
            let text = String(decoding: data, as: UTF8.self)
            if stop(text) { return (text, false) }
        }
    }

    /// Reads one response whose body has a `Content-Length` (bounded by the receive timeout).
    public func readResponse() -> HTTPAnswer? {
        let (text, _) = read { text in
            guard let answer = HTTPAnswer(text) else { return false }
            return answer.body.utf8.count >= answer.contentLength
        }
        return HTTPAnswer(text)
    }
}

/// A socket that could not be made or connected (errno).
public enum RawHTTPError: Error {
    case socket(Int32)
    case connect(Int32)
}

/// One parsed HTTP response (status, headers, body as far as it arrived).
public struct HTTPAnswer: Sendable {
    /// The status code.
    public let status: Int
    /// The headers, by lower-case name.
    public let headers: [String: String]
    /// The body as far as it arrived.
    public let body: String
    /// The announced length of the body.
    public var contentLength: Int { Int(headers["content-length"] ?? "") ?? 0 }

    /// Parses a response; nil until its head arrived in full.
    public init?(_ text: String) {
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "),
              let status = Int(statusLine.dropFirst(9).prefix(3)) else { return nil }
        self.status = status
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.headers = headers
        body = String(text[split.upperBound...])
    }
}

/// Runs blocking socket work on a thread of its own: blocking the few threads of Swift's
/// cooperative pool would starve the listener's own tasks (its readiness check).
public func blocking<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// `GET path` on 127.0.0.1:`port` with `Connection: close`, on a thread of its own.
public func httpGet(port: Int, _ path: String) async throws -> HTTPAnswer? {
    try await blocking {
        let connection = try RawHTTPConnection(port: port)
        connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return connection.readResponse()
    }
}
