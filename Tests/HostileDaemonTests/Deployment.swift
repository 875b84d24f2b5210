import Banana
import Foundation
import NIOPosix
import PerspectiveBroker
import TestSupport
import Testing

/// The daemon an attack is aimed at: the master itself, or a subordinate in front of it.
enum Target: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case master
    case subordinate

    var testDescription: String { rawValue }
}

enum DeploymentError: Error, CustomStringConvertible {
    case adminFailed(String, String)
    case didNotStart(String)
    case timedOut(String)
    case unexpected(String)

    var description: String {
        switch self {
        case .adminFailed(let command, let error): "pbauth \(command) failed: \(error)"
        case .didNotStart(let detail): detail
        case .timedOut(let what): "timed out: \(what)"
        case .unexpected(let what): what
        }
    }
}

/// Real `pbauth` processes on loopback (copied from AuthenticatorTests' Cluster): a master over
/// a fresh database in a temporary folder, one user, and for `.subordinate` a subordinate in
/// front of the master. `settings` (`--set KEY=VALUE`) go to the daemon under attack.
final class Deployment: @unchecked Sendable {
    static let user = "alice"
    static let password = "correct horse"
    static let broker = "edge1"
    /// Small scrypt parameters keep the suite fast.
    static let testScrypt = ["PBAUTH_SCRYPT_LN": "4"]

    let target: Target
    let folder: TemporaryDirectory
    let database: String
    let pbauth = BuiltProducts.executable("pbauth")
    private(set) var master: RunningProcess?
    private(set) var masterPort = 0
    private(set) var subordinate: RunningProcess?
    private(set) var subordinatePort = 0

    /// The process under attack.
    var process: RunningProcess {
        guard let process = target == .master ? master : subordinate else { preconditionFailure("not started") }
        return process
    }
    /// The port under attack.
    var port: Int { target == .master ? masterPort : subordinatePort }

    private init(target: Target) throws {
        self.target = target
        folder = try TemporaryDirectory(prefix: "pbauth-hostile")
        database = folder.file("master.sqlite")
    }

    /// Starts the daemons (off the cooperative pool); `settings` go to the target daemon,
    /// `masterSettings` to the master when it is not the target.
    static func start(_ target: Target, settings: [String: String] = [:],
                      masterSettings: [String: String] = [:]) async throws -> Deployment {
        let deployment = try Deployment(target: target)
        do {
            try await offThread {
                try deployment.admin(["migrate", "--database", deployment.database])
                try deployment.admin(["account", "add", Self.user, "--database", deployment.database, "--password-stdin"],
                                     input: Self.password + "\n")
                let (masterProcess, port) = try deployment.startMaster(target == .master ? settings : masterSettings)
                deployment.master = masterProcess
                deployment.masterPort = port
                if target == .subordinate {
                    let tokenFile = try deployment.addBroker(Self.broker)
                    let (process, port) = try deployment.startSubordinate(upstreamPort: deployment.masterPort,
                                                                          tokenFile: tokenFile, settings: settings)
                    deployment.subordinate = process
                    deployment.subordinatePort = port
                }
            }
        } catch {
            deployment.stop()
            throw error
        }
        return deployment
    }

    /// A subordinate alone, in front of `upstreamPort` (a fake upstream of the test), with
    /// any token; waits until its upstream link is up.
    static func subordinate(upstreamPort: Int, settings: [String: String]) async throws -> Deployment {
        let deployment = try Deployment(target: .subordinate)
        do {
            try await offThread {
                let tokenFile = deployment.folder.file("\(Self.broker).token")
                try Data("fake-token\n".utf8).write(to: URL(fileURLWithPath: tokenFile))
                let (process, port) = try deployment.startSubordinate(upstreamPort: upstreamPort, tokenFile: tokenFile, settings: settings)
                deployment.subordinate = process
                deployment.subordinatePort = port
            }
        } catch {
            deployment.stop()
            throw error
        }
        return deployment
    }

    /// Kills the daemons and removes the folder.
    func stop() {
        for process in [subordinate, master].compactMap({ $0 }) { process.stop(signal: SIGKILL, timeout: 5) }
        folder.remove()
    }

    @discardableResult
    func admin(_ arguments: [String], input: String? = nil) throws -> String {
        let outcome = try ChildProcess.run(pbauth, arguments, input: input, environment: Self.testScrypt, timeout: 60)
        guard outcome.status == 0 else {
            throw DeploymentError.adminFailed(arguments.joined(separator: " "), outcome.standardError)
        }
        return outcome.standardOutput
    }

    /// Adds a broker principal; answers the path of its token file.
    func addBroker(_ name: String) throws -> String {
        let output = try admin(["account", "add", name, "--broker", "--database", database])
        let token = output.split(separator: "\n").last.map(String.init) ?? ""
        let file = folder.file("\(name).token")
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// An empty configuration file: the daemons get the built-in defaults and the flags only,
    /// not the repository's config/*.conf (read from the working directory when it exists).
    private var emptyConfiguration: String {
        let file = folder.file("empty.conf")
        if !FileManager.default.fileExists(atPath: file) { FileManager.default.createFile(atPath: file, contents: Data()) }
        return file
    }

    private func flags(_ settings: [String: String]) -> [String] {
        ["--config", emptyConfiguration] + settings.sorted { $0.key < $1.key }.flatMap { ["--set", "\($0.key)=\($0.value)"] }
    }

    private func startMaster(_ settings: [String: String]) throws -> (RunningProcess, Int) {
        let process = try RunningProcess(pbauth, [
            "master", "--database", database, "--listen", "127.0.0.1:0",
            "--set", "scrypt_ln=4", "--set", "flush_interval_ms=50", "--set", "throttle_free_failures=1000000",
        ] + flags(settings), environment: Self.testScrypt)
        do {
            return (process, try Self.listeningPort(of: process, role: "master"))
        } catch {
            process.stop(signal: SIGKILL, timeout: 5)
            throw error
        }
    }

    /// Starts a subordinate in front of the master and waits until its upstream link is up.
    func startSubordinate(upstreamPort: Int, tokenFile: String, settings: [String: String]) throws -> (RunningProcess, Int) {
        let process = try RunningProcess(pbauth, [
            "subordinate", "--upstream", "127.0.0.1:\(upstreamPort)", "--broker", Self.broker,
            "--token-file", tokenFile, "--listen", "127.0.0.1:0", "--set", "reconnect_max_delay_ms=200",
            "--set", "throttle_free_failures=1000000",
        ] + flags(settings))
        do {
            let port = try Self.listeningPort(of: process, role: "subordinate")
            guard process.waitForLine(timeout: 20, where: { $0.contains("upstream connected") }) != nil else {
                throw DeploymentError.didNotStart("the subordinate never connected upstream:\n" + Self.tail(process))
            }
            return (process, port)
        } catch {
            process.stop(signal: SIGKILL, timeout: 5)
            throw error
        }
    }

    static func listeningPort(of process: RunningProcess, role: String) throws -> Int {
        guard let line = process.waitForLine(timeout: 30, where: { $0.contains("pbauth \(role) listening on") }),
              let range = line.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression),
              let port = Int(line[range].split(separator: ":").last ?? "")
        else {
            throw DeploymentError.didNotStart("the \(role) did not start:\n" + tail(process))
        }
        return port
    }

    /// The last lines the process wrote to standard error, for failure messages.
    static func tail(_ process: RunningProcess, _ count: Int = 25) -> String {
        process.standardError.suffix(count).map { String($0.prefix(400)) }.joined(separator: "\n")
    }

    /// The target's log lines written since line `start`.
    func logLines(since start: Int) -> [String] {
        Array(process.standardError.dropFirst(start))
    }

    var logLineCount: Int { process.standardError.count }

    // MARK: Serving

    /// A cookie for the user: `root.authenticate(user, password)` at the master.
    func cookie() async throws -> String {
        let port = masterPort
        return try await withTimeout(30, "authenticate at the master") {
            let connection = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
            do {
                let status = try await connection.root.callRemote(
                    "authenticate", arguments: [.string(Self.user), .string(Self.password)], keywords: [:], timeout: .seconds(20))
                await connection.close()
                guard let cookie = status.dictionaryValue?["cookie"]?.stringValue else {
                    throw DeploymentError.unexpected("authenticate answered no cookie: \(status)")
                }
                return cookie
            } catch {
                await connection.close()
                throw error
            }
        }
    }

    /// A PB login with the user's name and a fresh cookie at the daemon under test, then
    /// `whoami`; throws when any step fails or takes more than 30 s.
    func cookieLogin() async throws {
        let cookie = try await cookie()
        let port = self.port
        try await withTimeout(30, "cookie login at the \(target)") {
            let connection = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
            do {
                let avatar = try await connection.login(username: Array(Self.user.utf8), secret: Array(cookie.utf8))
                let status = try await avatar.callRemote("whoami", arguments: [], keywords: [:], timeout: .seconds(20))
                await connection.close()
                guard status.dictionaryValue?["username"]?.stringValue == Self.user else {
                    throw DeploymentError.unexpected("whoami answered \(status)")
                }
            } catch {
                await connection.close()
                throw error
            }
        }
    }

    private let deathLock = NSLock()
    private var deathRecorded = false

    /// Whether the target still runs; the first time it is found dead, records an issue with
    /// its exit status (a signal number when it crashed) and its last log lines.
    func checkAlive(_ when: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let process = self.process
        if process.isRunning, !Self.isZombie(process.pid) { return true }
        let first = deathLock.withLock { () -> Bool in
            defer { deathRecorded = true }
            return !deathRecorded
        }
        if first {
            let status = process.stop(signal: SIGKILL, timeout: 2)
            Issue.record("the \(target) died \(when) (exit status or signal \(status)); its last lines:\n\(Self.tail(process))",
                         sourceLocation: sourceLocation)
        }
        return false
    }

    /// Whether `pid` has exited and waits to be reaped (Foundation notices only a moment later).
    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state == "Z" || state == "X"
    }

    /// Records an issue (with the daemon's last log lines) unless the target still runs and
    /// serves a cookie login.
    func expectServesCookieLogin(_ when: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        guard checkAlive(when, sourceLocation: sourceLocation) else { return }
        do {
            try await cookieLogin()
        } catch {
            Issue.record("the \(target) did not serve a cookie login \(when): \(error)\n\(Self.tail(process))",
                         sourceLocation: sourceLocation)
        }
    }

    /// A cookie login, retried for at most `seconds` (while the daemon works off closed connections).
    func eventuallyServesCookieLogin(_ when: String, seconds: Double = 20, sourceLocation: SourceLocation = #_sourceLocation) async {
        guard checkAlive(when, sourceLocation: sourceLocation) else { return }
        let deadline = Date().addingTimeInterval(seconds)
        var lastError: (any Error)?
        while Date() < deadline {
            do {
                try await cookieLogin()
                return
            } catch {
                lastError = error
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        Issue.record("the \(target) did not serve a cookie login \(when) within \(seconds) s: \(lastError.map { "\($0)" } ?? "")\n\(Self.tail(process))",
                     sourceLocation: sourceLocation)
    }

    /// A raw PB connection logged in as the user with a fresh cookie (the attacker after login).
    func loggedInRawPeer(receiveBuffer: Int? = nil) async throws -> (peer: RawPB, avatar: Int) {
        let cookie = try await cookie()
        let port = self.port
        return try await offThread {
            let peer = try RawPB.open(port: port, receiveBuffer: receiveBuffer)
            let avatar = try peer.login(username: Self.user, secret: cookie)
            return (peer, avatar)
        }
    }

    /// Checks that the daemon logged a line about closing or refusing a connection since line `start`.
    func expectClosingLogged(since start: Int, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        let process = self.process
        let logged = await offThread { () -> Bool in
            let deadline = Date().addingTimeInterval(5)
            repeat {
                if process.standardError.dropFirst(start).contains(where: Self.mentionsClosing) { return true }
                usleep(50_000)
            } while Date() < deadline
            return false
        }
        #expect(logged, "the \(target) logged no closed connection for \(what); its log since:\n\(logLines(since: start).suffix(15).joined(separator: "\n"))",
                sourceLocation: sourceLocation)
    }

    static func mentionsClosing(_ line: String) -> Bool {
        let lower = line.lowercased()
        return ["clos", "refus", "drop", "reject"].contains { lower.contains($0) }
    }
}

/// A well-behaved user logged in before an attack, who must still be served after it.
struct Bystander: Sendable {
    let connection: PBClientConnection
    let avatar: PBRemoteReference

    static func logIn(_ deployment: Deployment) async throws -> Bystander {
        let cookie = try await deployment.cookie()
        let port = deployment.port
        return try await withTimeout(30, "bystander login") {
            let connection = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
            let avatar = try await connection.login(username: Array(Deployment.user.utf8), secret: Array(cookie.utf8))
            return Bystander(connection: connection, avatar: avatar)
        }
    }

    /// Whether `whoami` still answers on the bystander's connection.
    func isServed() async -> Bool {
        let avatar = self.avatar
        let answer = try? await withTimeout(20, "bystander whoami") {
            try await avatar.callRemote("whoami", arguments: [], keywords: [:], timeout: .seconds(15))
        }
        return answer?.dictionaryValue?["username"]?.stringValue == Deployment.user
    }

    func close() async { await connection.close() }
}

// MARK: Waiting without hanging

/// Runs `body` on a thread of its own (blocking sockets and process waits stay off the
/// cooperative pool).
func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}

func offThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(returning: body())
        }
    }
}

/// Runs `body` and answers its result, or throws `DeploymentError.timedOut` after `seconds`
/// (the body is cancelled and left behind: a stuck call cannot hang the test).
func withTimeout<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = TimeoutRace<T>()
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        race.start(continuation: continuation, seconds: seconds, what: what, body: body)
    }
}

/// The first of the body and the timer to finish resumes the continuation.
private final class TimeoutRace<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var work: Task<Void, Never>?
    private var timer: Task<Void, Never>?

    func start(continuation: CheckedContinuation<T, any Error>, seconds: Double, what: String,
               body: @escaping @Sendable () async throws -> T) {
        lock.withLock { self.continuation = continuation }
        let work = Task {
            do { self.finish(.success(try await body())) } catch { self.finish(.failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: .seconds(seconds))
            if Task.isCancelled { return }
            self.finish(.failure(DeploymentError.timedOut(what)))
        }
        lock.withLock {
            self.work = work
            self.timer = timer
        }
    }

    private func finish(_ result: Result<T, any Error>) {
        let (continuation, work, timer) = lock.withLock { () -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?, Task<Void, Never>?) in
            defer { self.continuation = nil }
            return (self.continuation, self.work, self.timer)
        }
        guard let continuation else { return }
        timer?.cancel()
        if case .failure(DeploymentError.timedOut) = result { work?.cancel() }
        continuation.resume(with: result)
    }
}
