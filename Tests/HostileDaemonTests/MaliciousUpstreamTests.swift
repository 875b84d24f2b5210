import Banana
import Foundation
import NIOPosix
import PerspectiveBroker
import Testing

extension HostileDaemon {
    /// A subordinate whose upstream is a fake PB server of the test that accepts its broker
    /// login and then misbehaves. The subordinate stays up, refuses user logins as
    /// UnauthorizedLogin meanwhile, drops and re-makes the link, keeps its memory bounded, and
    /// serves again once the upstream behaves.
    @Suite("malicious upstream")
    struct MaliciousUpstreamTests {
        static let rounds = 3

        /// A user login at the subordinate; answers the failure or nil when it succeeded.
        static func userLogin(_ port: Int, secret: String = "whatever") async -> Result<String, any Error> {
            do {
                return .success(try await withTimeout(30, "a user login at the subordinate") {
                    let connection = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
                    do {
                        let avatar = try await connection.login(username: Array(Deployment.user.utf8), secret: Array(secret.utf8))
                        let status = try await avatar.callRemote("whoami", arguments: [], keywords: [:], timeout: .seconds(20))
                        await connection.close()
                        return status.dictionaryValue?["username"]?.stringValue ?? "\(status)"
                    } catch {
                        await connection.close()
                        throw error
                    }
                })
            } catch {
                return .failure(error)
            }
        }

        static func isUnauthorizedLogin(_ error: any Error) -> Bool {
            if case PBCallError.remoteFailure(let failure) = error { return failure.check("twisted.cred.error.UnauthorizedLogin") }
            return false
        }

        /// Waits at most `seconds` for `condition`, off the cooperative pool.
        static func eventually(_ seconds: Double, _ condition: @escaping @Sendable () -> Bool) async -> Bool {
            await offThread {
                let deadline = Date().addingTimeInterval(seconds)
                while Date() < deadline {
                    if condition() { return true }
                    usleep(20_000)
                }
                return condition()
            }
        }

        @Test(arguments: FakeUpstream.Misbehaviour.allCases)
        func subordinateSurvivesAMaliciousUpstream(_ misbehaviour: FakeUpstream.Misbehaviour) async throws {
            let upstream = try FakeUpstream(misbehaviour)
            defer { upstream.stop() }
            let deployment = try await Deployment.subordinate(upstreamPort: upstream.port, settings: [
                "upstream_timeout_ms": "1000", "reconnect_max_delay_ms": "200",
            ])
            defer { deployment.stop() }
            let logStart = deployment.logLineCount
            let watch = MemoryWatch(pid: deployment.process.pid)
            let port = deployment.port
            let dropsLink = misbehaviour != .neverAnswers

            if misbehaviour == .garbageAfterLogin {
                // No user needed: the link breaks after every login. It is re-made, with backoff.
                let before = upstream.connectionCount
                try await Task.sleep(for: .seconds(4))
                let made = upstream.connectionCount - before
                print("hostile upstream: \(made) broker logins in 4 s with reconnect_max_delay_ms=200")
                #expect(made >= 2, "the subordinate re-made its link \(made) times in 4 s")
                #expect(made <= 100, "the subordinate re-made its link \(made) times in 4 s: no backoff")
            }
            for round in 1...Self.rounds {
                let connectionsBefore = upstream.connectionCount
                let outcome = await Self.userLogin(port)
                switch outcome {
                case .success(let name):
                    Issue.record("round \(round): a user login at the subordinate succeeded (\(name)) while its upstream sent \(misbehaviour)")
                case .failure(let error):
                    #expect(Self.isUnauthorizedLogin(error), "round \(round): a user login failed with \(error), not UnauthorizedLogin")
                }
                guard deployment.checkAlive("after round \(round) of \(misbehaviour)") else { return }
                if dropsLink, misbehaviour != .garbageAfterLogin {
                    let reconnected = await Self.eventually(15) { upstream.connectionCount > connectionsBefore }
                    #expect(reconnected, "round \(round): the subordinate did not log in to its upstream again after \(misbehaviour)")
                }
            }
            #expect(upstream.authenticateCount >= (misbehaviour == .garbageAfterLogin ? 0 : 1),
                    "the user logins never reached the upstream")
            let report = watch.finish()

            // Once the upstream behaves, the subordinate serves again (on a new link when it dropped one).
            upstream.behave()
            var served = false
            var last = ""
            let deadline = Date().addingTimeInterval(20)
            while !served, Date() < deadline {
                switch await Self.userLogin(port) {
                case .success(let name):
                    served = name == Deployment.user
                    last = name
                case .failure(let error):
                    last = "\(error)"
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(served, "the subordinate did not serve a login once its upstream behaved again: \(last)\n\(Deployment.tail(deployment.process, 10))")
            guard deployment.checkAlive("after \(misbehaviour)") else { return }
            if dropsLink {
                let lines = deployment.logLines(since: logStart)
                #expect(lines.contains { $0.contains("upstream") && ($0.contains("lost") || Deployment.mentionsClosing($0)) },
                        "the subordinate logged no dropped upstream link:\n\(lines.suffix(10).joined(separator: "\n"))")
            }
            report.expectGrowth(atMost: Bounds.maliciousUpstream, "subordinate memory with an upstream sending \(misbehaviour)")
        }
    }
}
