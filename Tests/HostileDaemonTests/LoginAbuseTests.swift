import Foundation
import Testing

extension HostileDaemon {
    /// Abuse of `root.login(username)` by a connection that has not logged in: huge usernames,
    /// usernames just past 64 bytes, and challengers asked for and never answered.
    @Suite("login abuse")
    struct LoginAbuseTests {
        @Test(arguments: Target.allCases)
        func hugeUsernames(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)

            // 200 logins with 500 kB usernames, pipelined on one connection: 100 MB offered.
            let peer = try await offThread { try RawPB.open(port: deployment.port) }
            let (closed, sentCalls) = await offThread { () -> (Bool, Int) in
                defer { peer.socket.close() }
                let username = W.bytes([UInt8](repeating: UInt8(ascii: "u"), count: 500_000))
                var sent = 0
                for _ in 0..<200 {
                    guard peer.socket.send(Wire.call(peer.nextRequestID(), .root, "login", [username]), timeout: 10) == .sent else { break }
                    sent += 1
                }
                return (peer.socket.waitForServerClose(within: 15), sent)
            }
            let report = watch.finish()
            #expect(closed, "the \(target) kept a connection open that sent \(sentCalls) logins with 500 kB usernames\n\(Deployment.tail(deployment.process, 8))")
            await deployment.expectClosingLogged(since: logStart, "huge usernames")
            await deployment.expectServesCookieLogin("after 200 logins with 500 kB usernames")
            report.expectGrowth(atMost: Bounds.hugeUsernames, "\(target) memory during 200 logins with 500 kB usernames")
        }

        @Test(arguments: Target.allCases)
        func usernamesPastSixtyFourBytesAreRefusedAtOnce(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let peer = try await offThread { try RawPB.open(port: deployment.port) }
            let replies = try await offThread { () -> [(Int, Reply)] in
                defer { peer.socket.close() }
                return try [65, 1000, 64].map { length in
                    (length, try peer.call(.root, "login", [.bytes([UInt8](repeating: UInt8(ascii: "n"), count: length))]))
                }
            }
            for (length, reply) in replies where length > 64 {
                #expect(reply.isUnauthorizedLogin, "login() with a \(length)-byte username gave \(reply), not UnauthorizedLogin at once")
            }
            // A 64-byte name is a possible account name: it gets a challenge like any other.
            if let (_, reply) = replies.last, case .answer(let pair) = reply {
                #expect(pair.items?.count == 3 && pair.items?[2].remoteLuid != nil, "login() with a 64-byte username answered \(pair)")
            } else {
                Issue.record("login() with a 64-byte username gave \(replies.last.map { "\($0.1)" } ?? "nothing") after longer names were refused")
            }
            await deployment.expectServesCookieLogin("after long usernames")
        }

        @Test(arguments: Target.allCases)
        func manyChallengers(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            let peer = try await offThread { try RawPB.open(port: deployment.port) }
            let (challengers, refusals, closed, detail) = try await offThread { () -> (Int, Int, Bool, String) in
                defer { peer.socket.close() }
                var ids: [Int] = []
                for _ in 0..<50 {
                    let (id, outcome) = peer.send(.root, "login", [.str(Deployment.user)])
                    guard outcome == .sent else { break }
                    ids.append(id)
                }
                var challengers = 0, refusals = 0
                var other: [String] = []
                for id in ids {
                    switch try peer.reply(to: id, timeout: 10) {
                    case .answer(let value):
                        if value.items?.count == 3, value.items?[2].remoteLuid != nil { challengers += 1 } else { other.append("\(value)") }
                    case .error: refusals += 1
                    case .closed, .noReply: break
                    }
                    if peer.socket.peerClosed { break }
                }
                let closed = peer.socket.waitForServerClose(within: 10)
                return (challengers, refusals, closed, other.prefix(2).joined(separator: "; "))
            }
            #expect(challengers >= 1, "no login() was answered with a challenge \(detail)")
            #expect(challengers <= 4, "the \(target) handed out \(challengers) challengers to one connection that answered none")
            #expect(closed, "the \(target) kept the connection open after 50 login() calls (\(challengers) challengers, \(refusals) refusals)")
            await Attack.expectSurvived(deployment, "50 unanswered challengers", memory: watch, bound: Bounds.smallViolations,
                                        logStart: logStart, bystander: nil)
        }
    }
}
