import Foundation
import Testing

extension HostileDaemon {
    /// Many small valid calls pipelined on one connection: read (a flood) or never read.
    /// Memory stays bounded and the daemon keeps serving others meanwhile.
    @Suite("floods")
    struct FloodTests {
        static let floodCalls = 100_000
        static let unreadCalls = 200_000

        /// `count` calls of `method` on `object`, written back to back.
        static func pipelined(_ peer: RawPB, _ count: Int, _ object: ObjectID, _ method: String, _ arguments: [W] = []) -> [UInt8] {
            // Only the request id differs from call to call: encode the rest once.
            let head = Wire.header(7, Wire.list) + W.vocab(V.message).encoded
            let tail = object.element.encoded + W.method(method).encoded + W.int(1).encoded + W.tuple(arguments).encoded
                + W.list([.vocab(V.dictionary)]).encoded
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count * (head.count + tail.count + 5))
            for _ in 0..<count {
                bytes.append(contentsOf: head)
                bytes.append(contentsOf: Wire.header(UInt64(peer.nextRequestID()), Wire.int))
                bytes.append(contentsOf: tail)
            }
            return bytes
        }

        struct FloodOutcome: Sendable, CustomStringConvertible {
            var replies = 0
            var closed = false
            var send = SendOutcome.sent
            var seconds = 0.0
            var description: String { "\(replies) replies in \(String(format: "%.1f", seconds)) s, send \(send), closed by the server: \(closed)" }
        }

        /// Sends `bytes` from one thread while another counts the replies, for at most `seconds`.
        static func flood(_ peer: RawPB, _ bytes: [UInt8], expecting count: Int, seconds: Double) async -> FloodOutcome {
            let started = Date()
            let deadline = started.addingTimeInterval(seconds)
            let sendResult = SendResultBox()
            Thread.detachNewThread {
                sendResult.set(peer.socket.send(bytes, timeout: seconds))
            }
            var outcome = await offThread { () -> FloodOutcome in
                var outcome = FloodOutcome()
                while outcome.replies < count, Date() < deadline {
                    guard let chunk = peer.socket.receive(timeout: min(1, max(0, deadline.timeIntervalSinceNow))) else {
                        outcome.closed = true
                        break
                    }
                    peer.socket.reader.append(chunk)
                    outcome.replies += (try? peer.socket.reader.skipWhole()) ?? 0
                }
                return outcome
            }
            outcome.seconds = Date().timeIntervalSince(started)
            outcome.send = sendResult.wait(until: deadline.addingTimeInterval(2)) ?? .stalled(bytesSent: -1)
            return outcome
        }

        @Test(arguments: Target.allCases, Stance.allCases)
        func pipelinedFlood(_ target: Target, _ stance: Stance) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let watch = MemoryWatch(pid: deployment.process.pid)
            let (peer, avatar) = try await Attack.peer(deployment, stance)
            // Before login: root has no whoami, so each call is answered with an error.
            let bytes = stance == .loggedIn
                ? Self.pipelined(peer, Self.floodCalls, .luid(avatar), "whoami")
                : Self.pipelined(peer, Self.floodCalls, .root, "whoami")
            async let outcome = Self.flood(peer, bytes, expecting: Self.floodCalls, seconds: 45)
            // Others are served while the flood runs.
            try? await Task.sleep(for: .milliseconds(300))
            await deployment.expectServesCookieLogin("during a flood of \(Self.floodCalls) calls \(stance.rawValue)")
            let result = await outcome
            peer.socket.close()
            print("hostile flood: \(target) \(stance.rawValue): \(result)")
            #expect(result.replies == Self.floodCalls || result.closed,
                    "a flood of \(Self.floodCalls) calls \(stance.rawValue) was neither answered nor closed: \(result)\n\(Deployment.tail(deployment.process, 8))")
            await Attack.expectSurvived(deployment, "a flood of \(Self.floodCalls) pipelined calls \(stance.rawValue)", memory: watch,
                                        bound: Bounds.flood, logStart: 0, bystander: nil, expectClosingLog: false)
        }

        /// What a peer that never reads pipelines.
        enum Unread: String, Sendable, CaseIterable, CustomTestStringConvertible {
            /// `root.login("alice")` before login: each answer exports a challenger.
            case loginsBeforeLogin = "login() calls before login"
            /// `root.whoami()` before login: each ~30-byte call is answered with a ~700-byte error.
            case errorsBeforeLogin = "calls answered with errors before login"
            /// `avatar.whoami()` after login: each answer is a status dict.
            case whoamiAfterLogin = "whoami() calls after login"
            /// `avatar.nosuch()` after login: each ~30-byte call is answered with a ~700-byte error.
            case errorsAfterLogin = "calls answered with errors after login"

            var testDescription: String { rawValue }
            var stance: Stance { self == .whoamiAfterLogin || self == .errorsAfterLogin ? .loggedIn : .stranger }
        }

        @Test(arguments: Target.allCases, Unread.allCases)
        func peerThatNeverReads(_ target: Target, _ unread: Unread) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let watch = MemoryWatch(pid: deployment.process.pid)
            let stance = unread.stance
            // A small receive buffer, never read: the server's answers back up at once.
            let (peer, avatar) = try await Attack.peer(deployment, stance, receiveBuffer: 4096)
            let bytes = switch unread {
            case .whoamiAfterLogin: Self.pipelined(peer, Self.unreadCalls, .luid(avatar), "whoami")
            case .errorsAfterLogin: Self.pipelined(peer, Self.unreadCalls, .luid(avatar), "nosuch")
            case .errorsBeforeLogin: Self.pipelined(peer, Self.unreadCalls, .root, "whoami")
            case .loginsBeforeLogin: Self.pipelined(peer, Self.unreadCalls, .root, "login", [.str(Deployment.user)])
            }
            // Sending stops when the server closes, or stops reading for 3 s (it paused).
            let sent = await offThread { peer.socket.send(bytes, timeout: 40, stallAfter: 3) }
            // While that connection is still open and unread, others are served.
            await deployment.expectServesCookieLogin("while a peer \(stance.rawValue) does not read \(Self.unreadCalls) answers (\(sent))")
            // Memory is read once the daemon has worked off what it read: it closed the
            // connection, or it went quiet (paused reading, or holds the answers).
            let pid = deployment.process.pid
            let (closedByServer, quiet) = await offThread { () -> (Bool, Bool) in
                let deadline = Date().addingTimeInterval(30)
                while Date() < deadline {
                    if peer.socket.peerHungUp(within: 0.2) { return (true, true) }
                    if ProcessCPU.waitUntilQuiet(pid, quiet: 1, within: 1.5) { return (peer.socket.peerHungUp(within: 0.1), true) }
                }
                return (false, false)
            }
            print("hostile never-reads: \(target) \(unread.rawValue): send \(sent), closed by the server: \(closedByServer), quiet: \(quiet)")
            #expect(quiet, "the \(target) was still busy 30 s after a peer \(stance.rawValue) stopped reading")
            let report = watch.finish()
            peer.socket.close()
            guard deployment.checkAlive("while a peer did not read its answers \(stance.rawValue)") else { return }
            report.expectGrowth(atMost: Bounds.neverReads, "\(target) memory with \(Self.unreadCalls) unread answers to \(unread.rawValue)")
            await deployment.expectServesCookieLogin("after a peer that never read")
        }
    }
}

/// One value handed from a thread to another, waited for with a deadline.
final class SendResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: SendOutcome?
    private let ready = DispatchSemaphore(value: 0)

    func set(_ outcome: SendOutcome) {
        lock.withLock { value = outcome }
        ready.signal()
    }

    func wait(until deadline: Date) -> SendOutcome? {
        _ = ready.wait(timeout: .now() + max(0, deadline.timeIntervalSinceNow))
        return lock.withLock { value }
    }
}
