import Foundation
import NIOPosix
import PerspectiveBroker

/// `pbauth-bench refusals [--rounds N]`: how long a refused portal login takes, by reason,
/// at the master and at the subordinate: an unknown account, a disabled account, and a
/// wrong cookie for an account with live sessions. The reasons must not be told apart by
/// their timing; the kinds are interleaved in a random order each round, on one connection.
enum RefusalBenchmark {
    static func run(options: LoadBenchmark.Options, rounds: Int) async throws {
        guard !options.tls else { throw BenchError.setupFailed("--tls is for load only: these figures are of plain connections") }
        let cluster = try BenchCluster(options: options)
        defer { cluster.stop() }
        let plan = cluster.plan(for: .login)
        // A live session, so that a wrong secret for the user is a cookie mismatch.
        let status = try await PBClientConnection.connect(host: "127.0.0.1", port: plan.masterPort, group: MultiThreadedEventLoopGroup.singleton)
        _ = try await status.root.callRemote("authenticate", .string(plan.user), .string(plan.password))
        await status.close()
        let kinds: [(name: String, user: String)] = [
            ("unknown account", "bench-nobody"), ("disabled account", BenchCluster.disabledUser), ("wrong cookie", plan.user),
        ]
        var json: [String: Double] = [:]
        for (role, port) in [("master", plan.masterPort), ("subordinate", plan.subordinatePort ?? plan.masterPort)] {
            let connection = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
            var samples = [String: [Double]]()
            for round in 0..<(rounds + 50) {
                for kind in kinds.shuffled() {
                    let started = monotonicSeconds()
                    let refused = (try? await connection.login(username: Array(kind.user.utf8), secret: Array("not the secret".utf8))) == nil
                    let micros = (monotonicSeconds() - started) * 1_000_000
                    guard refused else { throw BenchError.setupFailed("\(kind.name) was not refused") }
                    if round >= 50 { samples[kind.name, default: []].append(micros) }  // the first 50 rounds warm up
                }
            }
            await connection.close()
            for kind in kinds {
                let sorted = (samples[kind.name] ?? []).sorted()
                guard !sorted.isEmpty else { continue }
                let median = sorted[sorted.count / 2]
                let p90 = sorted[sorted.count * 9 / 10]
                print(String(format: "%@ %-17@ median %7.1f us  p90 %7.1f us  (%d refusals)",
                             role as NSString, kind.name as NSString, median, p90, sorted.count))
                json["\(role)_\(kind.name.replacingOccurrences(of: " ", with: "_"))_median_us"] = (median * 10).rounded() / 10
            }
        }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
