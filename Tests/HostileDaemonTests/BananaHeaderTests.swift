import Foundation
import Testing

extension HostileDaemon {
    /// Banana headers that announce more than any limit allows: the connection must close as
    /// soon as the header arrives, without the daemon reserving what it announced.
    @Suite("Banana headers")
    struct BananaHeaderTests {
        /// A login call open up to its argument tuple, for headers sent inside a message.
        static func openLoginCall(_ requestID: Int) -> [UInt8] {
            Wire.header(7, Wire.list) + W.vocab(V.message).encoded + W.int(requestID).encoded + W.str("root").encoded
                + W.vocab(V.login).encoded + W.int(1).encoded + Wire.header(2, Wire.list) + W.vocab(V.tuple).encoded
        }

        static let attacks: [(String, @Sendable (RawPB) -> [UInt8])] = [
            ("65 prefix bytes", { _ in [UInt8](repeating: 0x01, count: 65) }),
            ("200 prefix bytes inside a call", { peer in openLoginCall(peer.nextRequestID()) + [UInt8](repeating: 0x7f, count: 200) }),
            ("a string header announcing 1 GB", { _ in Wire.header(1_000_000_000, Wire.string) + [UInt8](repeating: 0x41, count: 4096) }),
            ("a 1 GB string as login's username", { peer in
                openLoginCall(peer.nextRequestID()) + Wire.header(1_000_000_000, Wire.string) + [UInt8](repeating: 0x41, count: 4096)
            }),
            ("a list header announcing 10^9 items", { _ in Wire.header(1_000_000_000, Wire.list) + [UInt8](repeating: 0x00, count: 64) }),
            ("a tuple of 10^9 items as login's arguments", { peer in
                Wire.header(7, Wire.list) + W.vocab(V.message).encoded + W.int(peer.nextRequestID()).encoded + W.str("root").encoded
                    + W.vocab(V.login).encoded + W.int(1).encoded + Wire.header(1_000_000_000, Wire.list) + W.vocab(V.tuple).encoded
            }),
        ]

        @Test(arguments: Target.allCases)
        func oversizedPrefixesAndHeaders(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let bystander = try await Bystander.logIn(deployment)
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            for stance in [Stance.stranger, .loggedIn] {
                for (name, bytes) in Self.attacks {
                    // Headers close at once: nothing more is sent, so a server waiting for the
                    // announced bytes would keep the connection open and fail this.
                    await Attack.expectClosed(deployment, stance, name, within: 10) { peer, _ in bytes(peer) }
                }
            }
            await Attack.expectSurvived(deployment, "oversized prefixes and headers", memory: watch, bound: Bounds.oneBadMessage,
                                        logStart: logStart, bystander: bystander)
        }
    }
}
