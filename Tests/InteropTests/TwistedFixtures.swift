import Foundation
import TestSupport
import Testing

/// The Python fixtures in Tests/InteropTests/Fixtures, run with stock Twisted.
enum TwistedFixtures {
    static let directory = BuiltProducts.packageRoot + "/Tests/InteropTests/Fixtures"

    /// The venv's python, or a recorded failure saying how to create it (never a skip).
    static func python() -> String? {
        do {
            return try BuiltProducts.requireTwistedPython()
        } catch {
            Issue.record("\(error)")
            return nil
        }
    }

    /// Runs the Twisted client fixture against `port` with `scenarios`, off the cooperative pool.
    static func runClient(port: Int, scenarios: [String], timeout: TimeInterval = 120) async throws -> ProcessOutcome? {
        guard let python = python() else { return nil }
        let arguments = [directory + "/twisted_pb_client.py", String(port)] + scenarios
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    try ChildProcess.run(python, arguments, timeout: timeout)
                })
            }
        }
    }

    /// Starts the Twisted server fixture; answers it and its port.
    static func startServer() async throws -> (process: RunningProcess, port: Int)? {
        guard let python = python() else { return nil }
        let process = try RunningProcess(python, [directory + "/twisted_pb_server.py"])
        guard let line = await waitForLine(of: process, timeout: 30, where: { Int($0) != nil }), let port = Int(line) else {
            Issue.record("the Twisted server fixture printed no port: \(process.standardError.suffix(20))")
            process.stop()
            return nil
        }
        return (process, port)
    }
}

/// `RunningProcess.waitForLine` on its own thread, so that the cooperative pool is not blocked.
func waitForLine(of process: RunningProcess, timeout: TimeInterval = 10,
                 where predicate: @escaping @Sendable (String) -> Bool) async -> String? {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(returning: process.waitForLine(timeout: timeout, where: predicate))
        }
    }
}

/// Checks that the client fixture passed every scenario, with its output on failure.
func expectAllPassed(_ outcome: ProcessOutcome?, _ scenarios: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    guard let outcome else { return }
    let report = "stdout:\n\(outcome.standardOutput)\nstderr:\n\(outcome.standardError.suffix(3000))"
    #expect(outcome.status == 0, "\(report)", sourceLocation: sourceLocation)
    for scenario in scenarios {
        #expect(outcome.standardOutput.contains("PASS \(scenario)\n"), "\(scenario) did not pass\n\(report)",
                sourceLocation: sourceLocation)
    }
}
