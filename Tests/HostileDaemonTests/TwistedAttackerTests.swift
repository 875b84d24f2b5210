import Foundation
import TestSupport
import Testing

extension HostileDaemon {
    /// Stock Twisted as the attacker: an unmodified client can send a 50,000-link reference
    /// chain simply by passing nested lists to `callRemote`.
    @Suite("stock Twisted attacker")
    struct TwistedAttackerTests {
        /// Fixtures/ beside this file.
        static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

        @Test(arguments: Target.allCases)
        func twistedReferenceChainIsDropped(_ target: Target) async throws {
            let python = BuiltProducts.twistedPython
            guard FileManager.default.isExecutableFile(atPath: python) else {
                Issue.record("""
                    No Python with stock Twisted at \(python): run scripts/test (it creates .venv-interop), or \
                    python3 -m venv .venv-interop && .venv-interop/bin/pip install twisted==26.10.0
                    """)
                return
            }
            let deployment = try await Deployment.start(target)
            defer { deployment.stop() }
            let bystander = try await Bystander.logIn(deployment)
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            let script = Self.fixtures + "/twisted_reference_chain.py"
            let port = deployment.port
            let outcome = try await offThread { try ChildProcess.run(python, [script, String(port)], timeout: 90) }
            #expect(outcome.status == 0 && outcome.standardOutput.contains("DROPPED"), """
                the \(target) did not drop stock Twisted's 50,000-link reference chain (exit \(outcome.status)): \
                \(outcome.standardOutput)\(outcome.standardError.suffix(1500))
                \(Deployment.tail(deployment.process, 8))
                """)
            await Attack.expectSurvived(deployment, "stock Twisted's reference chain", memory: watch, bound: Bounds.oneBadMessage,
                                        logStart: logStart, bystander: bystander)
        }
    }
}
