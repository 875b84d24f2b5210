import Banana
import Foundation
import NIOCore
import NIOPosix
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// Real `pbauth` processes on loopback for end-to-end tests: a master over a
/// fresh database in a temporary folder, and any number of subordinates.
final class Cluster: @unchecked Sendable {
    let folder: TemporaryDirectory
    let database: String
    let pbauth = BuiltProducts.executable("pbauth")
    private(set) var processes: [RunningProcess] = []
    /// Small scrypt parameters keep the suite fast; the production default is tested in AccountStoreTests.
    static let testScrypt = ["PBAUTH_SCRYPT_LN": "4"]
    /// Every test logs in from 127.0.0.1, many of them with wrong secrets on purpose: the
    /// per-source throttle is off unless a test turns it on (a later `--set` wins).
    static let unthrottled = ["--set", "throttle_free_failures=1000000"]

    init() throws {
        folder = try TemporaryDirectory(prefix: "pbauth-cluster")
        database = folder.file("master.sqlite")
        try admin(["migrate", "--database", database])
    }

    deinit {
        for process in processes { process.stop(signal: SIGKILL, timeout: 2) }
        folder.remove()
    }

    /// Runs the admin command; fails the test on a non-zero exit. Returns standard output.
    @discardableResult
    func admin(_ arguments: [String], input: String? = nil) throws -> String {
        let outcome = try ChildProcess.run(pbauth, arguments, input: input, environment: Self.testScrypt)
        guard outcome.status == 0 else {
            throw ClusterError.adminFailed(arguments.joined(separator: " "), outcome.standardError)
        }
        return outcome.standardOutput
    }

    /// Adds a user with `password`.
    func addUser(_ name: String, password: String) throws {
        try admin(["account", "add", name, "--database", database, "--password-stdin"], input: password + "\n")
    }

    /// Adds a broker principal and writes its token to a file; returns (token, file path).
    func addBroker(_ name: String) throws -> (token: String, file: String) {
        let output = try admin(["account", "add", name, "--broker", "--database", database])
        let token = output.split(separator: "\n").last.map(String.init) ?? ""
        let file = folder.file("\(name).token")
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: file))
        return (token, file)
    }

    /// Starts a master and returns its port.
    func startMaster(port: Int = 0, extra: [String] = []) throws -> (process: RunningProcess, port: Int) {
        let process = try RunningProcess(pbauth, [
            "master", "--database", database, "--listen", "127.0.0.1:\(port)",
            "--set", "scrypt_ln=4", "--set", "flush_interval_ms=50",
        ] + Self.unthrottled + extra, environment: Self.testScrypt)
        processes.append(process)
        return (process, try Self.listeningPort(of: process, role: "master"))
    }

    /// Starts a subordinate of `upstreamPort` logged in as `broker`; waits until its upstream link is up.
    func startSubordinate(upstreamPort: Int, broker: String, tokenFile: String, extra: [String] = [], waitForUpstream: Bool = true) throws -> (process: RunningProcess, port: Int) {
        try startSubordinate(upstream: "127.0.0.1:\(upstreamPort)", broker: broker, tokenFile: tokenFile, extra: extra,
                             waitForUpstream: waitForUpstream)
    }

    /// Starts a subordinate of `upstream` (`HOST:PORT`, or a list of them) logged in as `broker`.
    func startSubordinate(upstream: String, broker: String, tokenFile: String, extra: [String] = [], waitForUpstream: Bool = true) throws -> (process: RunningProcess, port: Int) {
        let process = try RunningProcess(pbauth, [
            "subordinate", "--upstream", upstream, "--broker", broker,
            "--token-file", tokenFile, "--listen", "127.0.0.1:0", "--set", "reconnect_max_delay_ms=200",
        ] + Self.unthrottled + extra)
        processes.append(process)
        let port = try Self.listeningPort(of: process, role: "subordinate")
        if waitForUpstream {
            guard process.waitForLine(timeout: 20, where: { $0.contains("upstream connected") }) != nil else {
                throw ClusterError.didNotStart("subordinate \(broker) never connected upstream:\n" + process.standardError.joined(separator: "\n"))
            }
        }
        return (process, port)
    }

    /// Starts `pbauth` with `arguments` (stopped with the cluster).
    func startDaemon(_ arguments: [String], environment: [String: String]? = nil) throws -> RunningProcess {
        let process = try RunningProcess(pbauth, arguments, environment: environment)
        processes.append(process)
        return process
    }

    static func listeningPort(of process: RunningProcess, role: String) throws -> Int {
        try loggedPort(of: process, "pbauth \(role) listening on", failure: "\(role) did not start")
    }

    /// The port of the first line of `process` holding `announcement` followed by ` 127.0.0.1:PORT`.
    static func loggedPort(of process: RunningProcess, _ announcement: String, failure: String) throws -> Int {
        guard let line = process.waitForLine(timeout: 30, where: { $0.contains(announcement + " 127.0.0.1:") }),
              let start = line.range(of: announcement + " 127.0.0.1:")?.upperBound,
              let port = Int(line[start...].prefix(while: \.isNumber))
        else {
            throw ClusterError.didNotStart("\(failure):\n" + process.standardError.joined(separator: "\n"))
        }
        return port
    }
}

extension Cluster {
    /// The port of the HTTP listener (`http_listen`) that `process` logged.
    static func httpPort(of process: RunningProcess, role: String) throws -> Int {
        try loggedPort(of: process, "pbauth \(role) http listening on", failure: "\(role) did not start its HTTP listener")
    }

    /// The value of the Prometheus series `series` (name with its labels as printed) in `text`.
    static func metric(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

enum ClusterError: Error, CustomStringConvertible {
    case adminFailed(String, String)
    case didNotStart(String)

    var description: String {
        switch self {
        case .adminFailed(let command, let error): "pbauth \(command) failed: \(error)"
        case .didNotStart(let detail): detail
        }
    }
}

/// A PB client for the tests, on one shared event loop group.
enum Client {
    static let group = MultiThreadedEventLoopGroup.singleton

    static func connect(_ port: Int) async throws -> PBClientConnection {
        try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: group)
    }

    /// Logs in with `secret` and returns the connection and the avatar.
    static func login(_ port: Int, _ username: String, _ secret: String) async throws -> (PBClientConnection, PBRemoteReference) {
        let connection = try await connect(port)
        do {
            let avatar = try await connection.login(username: Array(username.utf8), secret: Array(secret.utf8))
            return (connection, avatar)
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Calls the master's `authenticate(username, password)` and returns the status dict.
    static func authenticate(_ port: Int, _ username: String, _ password: String) async throws -> JellyValue {
        let connection = try await connect(port)
        defer { Task { await connection.close() } }
        return try await connection.root.callRemote("authenticate", .string(username), .string(password))
    }

    /// What a PB client answers to `challenge` when it holds `secret`.
    static func response(secret: String, challenge: [UInt8]) -> [UInt8] {
        PBLoginChallenge.response(secret: Array(secret.utf8), challenge: challenge)
    }

    static func randomChallenge() -> [UInt8] {
        PBLoginChallenge.makeChallenge()
    }
}
