import Foundation
import Testing

extension HostileDaemon {
    /// Jelly values shaped to blow up a decoder: long reference chains, cycles and deep nesting.
    /// Each must close the offending connection only.
    @Suite("jelly limits")
    struct JellyLimitTests {
        /// Links in the reference chain: far past 1024 references and a depth of 64.
        static let chainLength = 50_000
        /// Literal nesting of the deep message: far past the depth limit of 64.
        static let deepNesting = 100_000

        @Test(arguments: Target.allCases)
        func referenceChainsAndCycles(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let bystander = try await Bystander.logIn(deployment)
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            let chain = Wire.referenceChain(count: Self.chainLength)

            await Attack.expectClosed(deployment, .stranger, "root.login(*a 50,000-link reference chain)") { peer, _ in
                Wire.call(peer.nextRequestID(), .root, "login", chain)
            }
            await Attack.expectClosed(deployment, .loggedIn, "avatar.whoami(*a 50,000-link reference chain)") { peer, avatar in
                Wire.call(peer.nextRequestID(), .luid(avatar), "whoami", chain)
            }
            // Chains short enough to pass any message-size limit, so that the jelly limits
            // (references, depth through dereference) are what closes the connection.
            let shortChain = Wire.referenceChain(count: 100)
            await Attack.expectClosed(deployment, .stranger, "root.login(*a 100-link reference chain, 1.5 KiB)") { peer, _ in
                Wire.call(peer.nextRequestID(), .root, "login", shortChain)
            }
            let mediumChain = Wire.referenceChain(count: 3_000)
            await Attack.expectClosed(deployment, .loggedIn, "avatar.whoami(*a 3,000-link reference chain, 48 KiB)") { peer, avatar in
                Wire.call(peer.nextRequestID(), .luid(avatar), "whoami", mediumChain)
            }
            await Attack.expectClosed(deployment, .stranger, "root.login(a list that holds itself)") { peer, _ in
                Wire.call(peer.nextRequestID(), .root, "login", [Wire.referenceCycle])
            }
            await Attack.expectClosed(deployment, .loggedIn, "avatar.whoami(a list that holds itself)") { peer, avatar in
                Wire.call(peer.nextRequestID(), .luid(avatar), "whoami", [Wire.referenceCycle])
            }
            // A cycle through a dictionary value, in the keywords rather than the arguments.
            await Attack.expectClosed(deployment, .loggedIn, "a keyword value that holds itself") { peer, avatar in
                let cycle = W.list([.vocab(V.reference), .int(1),
                                    .list([.vocab(V.dictionary), .list([.unicode("k"), .list([.vocab(V.dereference), .int(1)])])])])
                return Wire.call(peer.nextRequestID(), .luid(avatar), "whoami", keywords: [(.unicode("x"), cycle)])
            }
            await Attack.expectSurvived(deployment, "reference chains and cycles", memory: watch, bound: Bounds.oneBadMessage,
                                        logStart: logStart, bystander: bystander)
        }

        @Test(arguments: Target.allCases)
        func deepLiteralNesting(_ target: Target) async throws {
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let bystander = try await Bystander.logIn(deployment)

            // Under the limit (message 1, tuple 2, then 60 lists: depth 62 of 64) a call is
            // decoded and answered: whoami() refuses an argument, and the connection stays.
            let (peer, avatar) = try await deployment.loggedInRawPeer()
            let underLimit = try await offThread { () -> (Reply, Bool) in
                defer { peer.socket.close() }
                let id = peer.nextRequestID()
                peer.socket.send(Wire.deeplyNestedCall(id, .luid(avatar), "whoami", depth: 60))
                let reply = try peer.reply(to: id)
                return (reply, peer.socket.isClosedByServer(waiting: 0.2))
            }
            if case .error = underLimit.0 {} else { Issue.record("a call nested 62 deep was not answered with an error: \(underLimit.0)") }
            #expect(!underLimit.1, "a call nested 62 deep (within the limit of 64) closed the connection")

            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            await Attack.expectClosed(deployment, .loggedIn, "a call nested 72 deep (just past the limit)") { peer, avatar in
                Wire.deeplyNestedCall(peer.nextRequestID(), .luid(avatar), "whoami", depth: 70)
            }
            await Attack.expectClosed(deployment, .stranger, "root.login nested 100,000 deep") { peer, _ in
                Wire.deeplyNestedCall(peer.nextRequestID(), .root, "login", depth: Self.deepNesting)
            }
            await Attack.expectClosed(deployment, .loggedIn, "avatar.whoami nested 100,000 deep") { peer, avatar in
                Wire.deeplyNestedCall(peer.nextRequestID(), .luid(avatar), "whoami", depth: Self.deepNesting)
            }
            await Attack.expectSurvived(deployment, "deep nesting", memory: watch, bound: Bounds.oneBadMessage,
                                        logStart: logStart, bystander: bystander)
        }
    }
}
