import Foundation
import Testing

extension HostileDaemon {
    /// Thousands of unauthenticated connections: past `max_connections` (and past
    /// `max_connections_per_source` from one address) new ones are closed at once.
    @Suite("connection caps")
    struct ConnectionCapTests {
        static let cap = 1_000
        static let attempts = 2_000

        /// Handshake and ~1.9 KiB of a 2,000-byte login call: a partial message under the
        /// stranger's 2 KiB limit, which the server must hold.
        static let partialMessage: [UInt8] = {
            let call = Wire.call(1, .root, "login", [.bytes([UInt8](repeating: UInt8(ascii: "p"), count: 1_960))])
            return Array(call.prefix(1_900))
        }()

        /// Connects `count` peers that each read the offer, send the handshake and a partial
        /// message. Answers the peers still open and the number the server closed at once.
        static func open(_ count: Int, port: Int, source: String? = nil, holding partial: Bool) -> (open: [RawConnection], closed: Int, failed: [String]) {
            var open: [RawConnection] = []
            var closed = 0
            var failed: [String] = []
            for _ in 0..<count {
                do {
                    let socket = try RawConnection.connect(port: port, source: source, timeout: 5)
                    let peer = RawPB(socket)
                    do {
                        try peer.handshake(timeout: 5)
                    } catch RawSocketError.closed {
                        closed += 1
                        socket.close()
                        continue
                    }
                    if partial, socket.send(partialMessage, timeout: 5) != .sent {
                        closed += 1
                        socket.close()
                        continue
                    }
                    open.append(socket)
                } catch {
                    if failed.count < 5 { failed.append("\(error)") }
                }
            }
            return (open, closed, failed)
        }

        @Test(arguments: Target.allCases)
        func connectionsPastTheCapAreClosedAtOnce(_ target: Target) async throws {
            let limit = raiseOpenFileLimit(to: 16_384)
            #expect(limit >= Self.attempts + 256, "RLIMIT_NOFILE is \(limit)")
            let deployment = try await Deployment.start(target, settings: ["max_connections": "\(Self.cap)"])
            defer { deployment.stop() }
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            let port = deployment.port

            let held = await offThread { Self.open(Self.cap, port: port, holding: true) }
            defer { for socket in held.open { socket.close() } }
            #expect(held.failed.isEmpty, "connecting failed: \(held.failed)")
            #expect(held.open.count == Self.cap, "of \(Self.cap) connections under the cap, \(held.closed) were closed")

            // The extra connections: each is closed at once (no offer, or EOF right after it).
            let extra = await offThread { () -> (accepted: Int, closed: Int, failed: [String], seconds: Double) in
                let started = Date()
                var accepted = 0, closed = 0
                var failed: [String] = []
                for _ in 0..<(Self.attempts - Self.cap) {
                    do {
                        let socket = try RawConnection.connect(port: port, timeout: 5)
                        defer { socket.close() }
                        if socket.waitForServerClose(within: 2) { closed += 1 } else { accepted += 1 }
                    } catch {
                        // A refused or reset connect is also a connection the server did not keep.
                        if case RawSocketError.system = error { closed += 1 } else if failed.count < 5 { failed.append("\(error)") }
                    }
                    if accepted > 3 { break }
                }
                return (accepted, closed, failed, Date().timeIntervalSince(started))
            }
            #expect(extra.accepted == 0 && extra.failed.isEmpty,
                    "past max_connections=\(Self.cap), \(extra.accepted) connections stayed open for 2 s (\(extra.closed) closed; \(extra.failed))")

            // The held connections are still open: the cap refused newcomers, not them.
            let stillOpen = await offThread { held.open.filter { !$0.isClosedByServer() }.count }
            #expect(stillOpen == held.open.count, "\(held.open.count - stillOpen) of the held connections were closed")
            let report = watch.finish()
            for socket in held.open { socket.close() }

            await deployment.expectClosingLogged(since: logStart, "connections past max_connections")
            await deployment.eventuallyServesCookieLogin("after \(Self.cap) held connections closed")
            report.expectGrowth(atMost: Bounds.thousandConnections, "\(target) memory holding \(Self.cap) connections with 1.9 KiB partial messages")
        }

        @Test(arguments: Target.allCases)
        func connectionsPastThePerSourceCapAreClosedAtOnce(_ target: Target) async throws {
            let deployment = try await Deployment.start(target, settings: ["max_connections_per_source": "10"])
            defer { deployment.stop() }
            let logStart = deployment.logLineCount
            let port = deployment.port
            let held = await offThread { Self.open(10, port: port, holding: false) }
            defer { for socket in held.open { socket.close() } }
            #expect(held.open.count == 10, "of 10 connections from 127.0.0.1, \(held.closed) were closed (\(held.failed))")

            let (eleventhClosed, otherSourceOpen) = await offThread { () -> (Bool, Bool?) in
                let eleventh = try? RawConnection.connect(port: port, timeout: 5)
                let closed = eleventh?.waitForServerClose(within: 3) ?? true
                eleventh?.close()
                // Another loopback address is another source: it is served.
                guard let other = try? RawPB.connect(port: port, source: "127.0.0.2") else { return (closed, nil) }
                defer { other.socket.close() }
                do {
                    try other.handshake(timeout: 5)
                    return (closed, !other.socket.isClosedByServer(waiting: 1))
                } catch {
                    return (closed, false)
                }
            }
            #expect(eleventhClosed, "the 11th connection from 127.0.0.1 was not closed with max_connections_per_source=10")
            if let otherSourceOpen {
                #expect(otherSourceOpen, "a connection from 127.0.0.2 was refused while 127.0.0.1 held its 10")
            }
            for socket in held.open { socket.close() }
            await deployment.expectClosingLogged(since: logStart, "the 11th connection from one source")
            await deployment.eventuallyServesCookieLogin("after the 10 connections from 127.0.0.1 closed")
        }
    }
}
