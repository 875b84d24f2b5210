import Foundation
import Testing

extension HostileDaemon {
    /// Well-formed PB messages that break the protocol's bookkeeping: answers and errors for
    /// calls never made, decrefs of objects never exported.
    @Suite("protocol violations")
    struct ProtocolViolationTests {
        @Test(arguments: Target.allCases)
        func answersAndErrorsForCallsNeverMade(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let bystander = try await Bystander.logIn(deployment)
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            for stance in [Stance.stranger, .loggedIn] {
                await Attack.expectClosed(deployment, stance, "[answer, 999, None]", within: 10) { _, _ in
                    Wire.answer(999, .none)
                }
                await Attack.expectClosed(deployment, stance, "[error, 999, 'x']", within: 10) { _, _ in
                    Wire.error(999, .unicode("x"))
                }
                // Request 1 is the id the server's own first call would take; it made none.
                await Attack.expectClosed(deployment, stance, "[answer, 1, [remote, 1]]", within: 10) { _, _ in
                    Wire.answer(1, .list([.vocab(V.remote), .int(1)]))
                }
            }
            await Attack.expectSurvived(deployment, "answers for calls never made", memory: watch, bound: Bounds.smallViolations,
                                        logStart: logStart, bystander: bystander)
        }

        @Test(arguments: Target.allCases)
        func decrefsOfUnknownObjects(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let bystander = try await Bystander.logIn(deployment)
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            for stance in [Stance.stranger, .loggedIn] {
                let (peer, avatar) = try await Attack.peer(deployment, stance)
                // 20,000 decrefs of luids never exported (never the avatar's), then one call:
                // the server may ignore them or close, but if it keeps the connection it must answer.
                let outcome = try await offThread { () -> String? in
                    defer { peer.socket.close() }
                    var bytes: [UInt8] = []
                    for luid in 1_000...20_999 where luid != avatar { bytes += Wire.decref(luid) }
                    bytes += Wire.decref(-5) + Wire.decref(1 << 40)
                    guard case .sent = peer.socket.send(bytes, timeout: 15) else { return nil }
                    let reply = stance == .loggedIn ? try peer.call(.luid(avatar), "whoami") : try peer.call(.root, "whoami")
                    switch reply {
                    case .closed: return nil
                    case .answer, .error: return peer.socket.isClosedByServer() ? nil : "answered"
                    case .noReply: return "no reply to a call after the decrefs, and the connection is still open"
                    }
                }
                if let outcome {
                    #expect(outcome == "answered", "\(stance.rawValue): \(outcome)")
                }
            }
            await Attack.expectSurvived(deployment, "20,000 decrefs of unknown objects", memory: watch, bound: Bounds.smallViolations,
                                        logStart: logStart, bystander: bystander, expectClosingLog: false)
        }
    }
}
