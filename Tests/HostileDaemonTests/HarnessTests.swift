import Foundation
import Testing

extension HostileDaemon {
    /// The harness itself, against any pbauth: a cookie login works, memory can be read, and a
    /// raw peer can log in and call by hand. If these fail, the attack tests prove nothing.
    @Suite("harness")
    struct HarnessTests {
        @Test(arguments: Target.allCases)
        func servesCookieLoginAndReadsMemory(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let watch = MemoryWatch(pid: deployment.process.pid)
            #expect(watch.baselineKiB > 1024, "VmRSS of the \(target) is \(watch.baselineKiB) KiB")
            await deployment.expectServesCookieLogin("at start")

            // A raw peer logs in with a cookie, calls whoami by hand and reads the answer.
            let (peer, avatar) = try await deployment.loggedInRawPeer()
            let reply = try await offThread { try peer.call(.luid(avatar), "whoami") }
            guard case .answer(let status) = reply else {
                Issue.record("whoami gave \(reply)")
                return
            }
            #expect(status.mentions(Deployment.user), "whoami answered \(status)")
            // A wrong cookie is refused as UnauthorizedLogin on the raw peer too.
            let refused = try await offThread { () -> Reply in
                let stranger = try RawPB.open(port: deployment.port)
                defer { stranger.socket.close() }
                let first = try stranger.call(.root, "login", [.str(Deployment.user)])
                guard case .answer(let pair) = first, let items = pair.items, items.count == 3, let luid = items[2].remoteLuid else {
                    return first
                }
                return try stranger.call(.luid(luid), "respond", [.bytes([UInt8](repeating: 0, count: 16)), .none])
            }
            #expect(refused.isUnauthorizedLogin, "a wrong response gave \(refused)")
            peer.socket.close()
            let report = watch.finish()
            #expect(report.peakKiB >= report.baselineKiB)
            report.expectGrowth(atMost: Bounds.smallViolations, "the harness's own traffic")
        }
    }
}
