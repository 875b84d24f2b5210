import Foundation
import Testing

extension HostileDaemon {
    /// Peers that hold a connection without finishing anything: a byte a second, half a
    /// message then silence, no bytes at all, or a half-closed socket.
    @Suite("slow and half-open peers")
    struct SlowPeerTests {
        /// The idle timeout these tests set for connections that have not logged in.
        static let idleTimeout = 2
        /// How long after its last completed message a stranger may stay: the timeout plus slack.
        static let closeWithin = 10.0

        /// Runs `attacks` at once, each on its own thread; answers their results in order.
        static func concurrently<T: Sendable>(_ attacks: [@Sendable () -> T]) async -> [T] {
            await withTaskGroup(of: (Int, T).self) { group in
                for (index, attack) in attacks.enumerated() {
                    group.addTask { (index, await offThread(attack)) }
                }
                var results: [(Int, T)] = []
                for await result in group { results.append(result) }
                return results.sorted { $0.0 < $1.0 }.map(\.1)
            }
        }

        /// Sends `bytes` one a second until the server closes or `limit` seconds pass; answers
        /// the seconds until the close (nil when it stayed open) and the bytes sent.
        static func dribble(_ socket: RawConnection, _ bytes: [UInt8], limit: Double) -> (closedAfter: Double?, sent: Int) {
            let started = Date()
            var sent = 0
            while Date().timeIntervalSince(started) < limit, sent < bytes.count {
                if case .closed = socket.send([bytes[sent]], timeout: 1) { return (Date().timeIntervalSince(started), sent) }
                sent += 1
                if socket.waitForServerClose(within: 1) { return (Date().timeIntervalSince(started), sent) }
            }
            return (nil, sent)
        }

        @Test(arguments: Target.allCases)
        func senderOfOneByteASecond(_ target: Target) async throws {
            let deployment = try await Deployment.start(target, settings: ["idle_timeout": "\(Self.idleTimeout)"])
            defer { deployment.stop() }
            let bystander = try await Bystander.logIn(deployment)
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            let port = deployment.port
            // A login call with a 1,500-byte username: it would take 25 minutes to finish.
            let call = Wire.call(1, .root, "login", [.bytes([UInt8](repeating: UInt8(ascii: "s"), count: 1_500))])
            let results = await Self.concurrently([
                { @Sendable () -> String? in
                    // Handshake done, then the call a byte a second.
                    guard let peer = try? RawPB.open(port: port) else { return "could not connect" }
                    defer { peer.socket.close() }
                    let (closedAfter, sent) = Self.dribble(peer.socket, call, limit: Self.closeWithin + 5)
                    guard let closedAfter else { return "a peer sending a call a byte a second (\(sent) bytes) was not closed in \(Self.closeWithin + 5) s" }
                    return closedAfter <= Self.closeWithin ? nil : "a byte-a-second call was closed only after \(closedAfter) s"
                },
                { @Sendable () -> String? in
                    // The handshake itself a byte a second (10 bytes), then the call.
                    guard let socket = try? RawConnection.connect(port: port) else { return "could not connect" }
                    defer { socket.close() }
                    let (closedAfter, sent) = Self.dribble(socket, Wire.handshake + call, limit: Self.closeWithin + 5)
                    guard let closedAfter else { return "a peer sending its handshake a byte a second (\(sent) bytes) was not closed in \(Self.closeWithin + 5) s" }
                    return closedAfter <= Self.closeWithin ? nil : "a byte-a-second handshake was closed only after \(closedAfter) s"
                },
            ])
            for problem in results.compactMap({ $0 }) {
                Issue.record("\(problem) (idle_timeout=\(Self.idleTimeout))\n\(Deployment.tail(deployment.process, 8))")
            }
            // The bystander, logged in and idle for longer than idle_timeout, is not a stranger:
            // the logged-in timeout (an hour by default) applies to it.
            await Attack.expectSurvived(deployment, "byte-a-second senders", memory: watch, bound: Bounds.smallViolations,
                                        logStart: logStart, bystander: bystander)
        }

        /// The logged-in idle timeout `halfOpenConnectionsAreDropped` sets.
        static let loggedInIdleTimeout = 5

        @Test(arguments: Target.allCases)
        func halfOpenConnectionsAreDropped(_ target: Target) async throws {
            let deployment = try await Deployment.start(target, settings: [
                "idle_timeout": "\(Self.idleTimeout)", "logged_in_idle_timeout": "\(Self.loggedInIdleTimeout)",
            ])
            defer { deployment.stop() }
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            let port = deployment.port
            let (loggedIn, _) = try await deployment.loggedInRawPeer()
            let started = Date()
            let results = await Self.concurrently([
                { @Sendable () -> String? in
                    // Logged in, then silent: the logged-in timeout closes it, not the stranger's.
                    defer { loggedIn.socket.close() }
                    let limit = Double(Self.loggedInIdleTimeout) + Self.closeWithin
                    guard loggedIn.socket.waitForServerClose(within: limit) else {
                        return "a silent logged-in connection was not closed within \(limit) s with logged_in_idle_timeout=\(Self.loggedInIdleTimeout)"
                    }
                    let after = Date().timeIntervalSince(started)
                    print("hostile idle: a silent logged-in connection was closed after \(String(format: "%.1f", after)) s")
                    return after >= Double(Self.loggedInIdleTimeout) - 1 ? nil
                        : "a silent logged-in connection was closed after \(String(format: "%.1f", after)) s, before logged_in_idle_timeout=\(Self.loggedInIdleTimeout)"
                },
                { @Sendable () -> String? in
                    guard let peer = try? RawPB.open(port: port) else { return "could not connect" }
                    defer { peer.socket.close() }
                    let call = Wire.call(1, .root, "login", [.str(Deployment.user)])
                    peer.socket.send(Array(call.prefix(call.count / 2)))
                    return peer.socket.waitForServerClose(within: Self.closeWithin) ? nil : "not closed: half a message, then silence"
                },
                { @Sendable () -> String? in
                    guard let socket = try? RawConnection.connect(port: port) else { return "could not connect" }
                    defer { socket.close() }
                    // Not even the dialect: the 30 s handshake limit is not what closes it.
                    return socket.waitForServerClose(within: Self.closeWithin) ? nil : "not closed: a connection that sends nothing"
                },
                { @Sendable () -> String? in
                    guard let socket = try? RawConnection.connect(port: port) else { return "could not connect" }
                    defer { socket.close() }
                    socket.send(Wire.dialectChoice + [0x02, 0x80])
                    return socket.waitForServerClose(within: Self.closeWithin) ? nil : "not closed: the dialect and half the version, then silence"
                },
            ])
            for problem in results.compactMap({ $0 }) {
                Issue.record("\(problem) (idle_timeout=\(Self.idleTimeout), closing expected within \(Self.closeWithin) s)\n\(Deployment.tail(deployment.process, 8))")
            }
            await Attack.expectSurvived(deployment, "half-open connections", memory: watch, bound: Bounds.smallViolations,
                                        logStart: logStart, bystander: nil)
        }

        @Test(arguments: Target.allCases)
        func halfClosedConnectionsAreClosed(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            let port = deployment.port
            let (loggedIn, _) = try await deployment.loggedInRawPeer()
            let results = await Self.concurrently([
                { @Sendable () -> String? in
                    guard let peer = try? RawPB.open(port: port) else { return "could not connect" }
                    defer { peer.socket.close() }
                    peer.socket.shutdownWrite()
                    return peer.socket.waitForServerClose(within: Self.closeWithin) ? nil : "a stranger that shut down its write side"
                },
                { @Sendable () -> String? in
                    guard let peer = try? RawPB.open(port: port) else { return "could not connect" }
                    defer { peer.socket.close() }
                    peer.socket.send(Array(Wire.call(1, .root, "login", [.str(Deployment.user)]).prefix(9)))
                    peer.socket.shutdownWrite()
                    return peer.socket.waitForServerClose(within: Self.closeWithin) ? nil : "half a message, then a half-close"
                },
                { @Sendable () -> String? in
                    defer { loggedIn.socket.close() }
                    loggedIn.socket.shutdownWrite()
                    return loggedIn.socket.waitForServerClose(within: Self.closeWithin) ? nil : "a logged-in peer that shut down its write side"
                },
            ])
            for problem in results.compactMap({ $0 }) {
                Issue.record("\(problem): not closed within \(Self.closeWithin) s\n\(Deployment.tail(deployment.process, 8))")
            }
            await Attack.expectSurvived(deployment, "half-closed connections", memory: watch, bound: Bounds.smallViolations,
                                        logStart: logStart, bystander: nil, expectClosingLog: false)
        }
    }
}
