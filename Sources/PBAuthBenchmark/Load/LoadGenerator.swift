import Banana
import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import PBAuthProtocol
import PerspectiveBroker
import Synchronization

/// The load-generating process: connects to running brokers and drives one
/// scenario for a fixed time, then prints one JSON report on standard output.
enum LoadGenerator {
    static let group = MultiThreadedEventLoopGroup.singleton

    /// The TLS client of every connection, when the plan says TLS.
    private static let tls = Mutex<TLSClientContext?>(nil)

    /// A connection to 127.0.0.1:`port` (over TLS, verified as 127.0.0.1, when the plan says so).
    static func connect(_ plan: LoadPlan, port: Int, group: any EventLoopGroup) async throws -> PBClientConnection {
        let transport = tls.withLock { $0 }?.transport(serverName: plan.masterHost)
        return try await PBClientConnection.connect(host: plan.masterHost, port: port, group: group, transport: transport)
    }

    static func run(plan: LoadPlan) async throws {
        raiseOpenFileLimit()
        if let ca = plan.tlsCA {
            let context = try TLSClientContext(settings: TLSClientSettings(ca: ca), logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
            tls.withLock { $0 = context }
        }
        let report: GeneratorReport
        switch plan.scenario {
        case .check:
            // Set-up (cookies by password, broker logins) happens before the clock starts.
            let brokers = try await connectBrokers(plan)
            let calls = checkCalls(plan, cookies: try await cookies(plan))
            report = try await measure(plan) { deadline, samples in await checkLoad(brokers, calls: calls, until: deadline, into: samples) }
            for (connection, _) in brokers { await connection.close() }
        case .login:
            let cookies = try await cookies(plan)
            report = try await measure(plan) { deadline, samples in try await loginLoad(plan, cookies: cookies, until: deadline, into: samples) }
        case .password: report = try await measure(plan) { deadline, samples in try await passwordLoad(plan, until: deadline, into: samples) }
        case .mixed: report = try await mixed(plan)
        case .idle: report = try await idle(plan)
        }
        let json = try JSONEncoder().encode(report)
        emitLine(String(decoding: json, as: UTF8.self))
    }

    /// Runs `load` through a warm-up and then for the measured duration.
    private static func measure(_ plan: LoadPlan, _ load: @escaping @Sendable (Double, SampleSink) async throws -> Void) async throws -> GeneratorReport {
        let warm = SampleSink()
        try await load(monotonicSeconds() + plan.warmupSeconds, warm)
        let sink = SampleSink()
        emitLine(windowStart)
        let cpuStart = processCPUSeconds(), start = monotonicSeconds()
        try await load(start + plan.durationSeconds, sink)
        let wall = monotonicSeconds() - start
        emitLine(windowEnd)
        return GeneratorReport(scenario: plan.scenario.rawValue, primary: sink.samples.summary(duration: wall),
                               secondary: nil, generatorCores: (processCPUSeconds() - cpuStart) / wall)
    }

    /// The lines that tell the orchestrator where the measured window starts and ends, so
    /// that it reads the servers' CPU times over that window only (not set-up, not warm-up).
    static let windowStart = "WINDOW START", windowEnd = "WINDOW END"

    // MARK: Scenarios

    /// Cookies for the bench user, from password logins at the master.
    static func cookies(_ plan: LoadPlan) async throws -> [String] {
        let connection = try await connect(plan, port: plan.masterPort, group: group)
        defer { Task { await connection.close() } }
        var cookies: [String] = []
        for _ in 0..<plan.cookies {
            let status = try await connection.root.callRemote("authenticate", .string(plan.user), .string(plan.password))
            guard let cookie = status.dictionaryValue?["cookie"]?.stringValue else { throw BenchError.unexpectedAnswer("authenticate") }
            cookies.append(cookie)
        }
        return cookies
    }

    /// The broker connections of `check`, logged in at the master.
    static func connectBrokers(_ plan: LoadPlan) async throws -> [(PBClientConnection, PBRemoteReference)] {
        var brokers: [(PBClientConnection, PBRemoteReference)] = []
        for _ in 0..<plan.connections {
            let connection = try await connect(plan, port: plan.masterPort, group: group)
            brokers.append((connection, try await connection.login(username: Array(plan.broker.utf8), secret: Array(plan.token.utf8))))
        }
        return brokers
    }

    /// The calls of `check`, for each connection and lane, made up front: 16 challenge-responses
    /// per lane that a subordinate would forward. The master checks each one in full whatever
    /// its challenge, and the generator should cost as little as it can.
    static func checkCalls(_ plan: LoadPlan, cookies: [String]) -> [[[[JellyValue]]]] {
        let verifiers = cookies.map { Array(Insecure.MD5.hash(data: Array($0.utf8))) }
        let user = JellyValue.string(plan.user)
        return (0..<plan.connections).map { index in
            (0..<plan.inFlight).map { lane in
                let verifier = verifiers[(index + lane) % verifiers.count]
                return (0..<16).map { _ in
                    let challenge = PBLoginChallenge.makeChallenge()
                    return [user, .bytes(challenge), .bytes(PBLoginChallenge.response(hashedSecret: verifier, challenge: challenge))]
                }
            }
        }
    }

    /// `check`: each broker connection with `calls[connection].count` authenticate_account calls outstanding.
    static func checkLoad(_ brokers: [(PBClientConnection, PBRemoteReference)], calls: [[[[JellyValue]]]],
                          until deadline: Double, into sink: SampleSink) async {
        await withTaskGroup(of: LatencySamples.self) { tasks in
            for (index, (connection, broker)) in brokers.enumerated() {
                for lane in calls[index] {
                    // On the connection's own event loop: the generator should cost as little as it can.
                    tasks.addTask(executorPreference: connection.taskExecutor) {
                        var samples = LatencySamples()
                        var next = 0
                        while monotonicSeconds() < deadline {
                            let arguments = lane[next % lane.count]
                            next += 1
                            let started = monotonicSeconds()
                            do {
                                _ = try await broker.callRemote("authenticate_account", arguments: arguments, keywords: [:])
                                samples.add(monotonicSeconds() - started)
                            } catch {
                                samples.addError()
                            }
                        }
                        return samples
                    }
                }
            }
            for await samples in tasks { sink.merge(samples) }
        }
    }

    /// `login`: clients doing a full cookie login at the subordinate, in a loop.
    static func loginLoad(_ plan: LoadPlan, cookies: [String], until deadline: Double, into sink: SampleSink) async throws {
        guard let port = plan.subordinatePort else { throw BenchError.missing("a subordinate") }
        await withTaskGroup(of: LatencySamples.self) { tasks in
            for client in 0..<plan.clients {
                let cookie = Array(cookies[client % cookies.count].utf8)
                // Each client keeps to one event loop: its connections and its task share the thread.
                let loop = group.next()
                tasks.addTask(executorPreference: EventLoopTaskExecutor(loop)) {
                    var samples = LatencySamples()
                    while monotonicSeconds() < deadline {
                        let started = monotonicSeconds()
                        do {
                            let connection = try await connect(plan, port: port, group: loop)
                            let avatar = try await connection.login(username: Array(plan.user.utf8), secret: cookie)
                            _ = try await avatar.callRemote("whoami")
                            await connection.close()
                            samples.add(monotonicSeconds() - started)
                        } catch {
                            samples.addError()
                        }
                    }
                    return samples
                }
            }
            for await samples in tasks { sink.merge(samples) }
        }
    }

    /// `password`: clients calling `authenticate` at the master as fast as answers come.
    static func passwordLoad(_ plan: LoadPlan, until deadline: Double, into sink: SampleSink) async throws {
        var roots: [PBClientConnection] = []
        for _ in 0..<plan.clients {
            roots.append(try await connect(plan, port: plan.masterPort, group: group))
        }
        await withTaskGroup(of: LatencySamples.self) { tasks in
            for connection in roots {
                tasks.addTask {
                    var samples = LatencySamples()
                    while monotonicSeconds() < deadline {
                        let started = monotonicSeconds()
                        do {
                            _ = try await connection.root.callRemote("authenticate", .string(plan.user), .string(plan.password))
                            samples.add(monotonicSeconds() - started)
                        } catch {
                            samples.addError()
                        }
                    }
                    return samples
                }
            }
            for await samples in tasks { sink.merge(samples) }
        }
        for connection in roots { await connection.close() }
    }

    /// `mixed`: `check` and `password` at once; the primary figures are the checks'.
    static func mixed(_ plan: LoadPlan) async throws -> GeneratorReport {
        var passwordPlan = plan
        passwordPlan.clients = max(1, plan.clients / 8)
        let checks = SampleSink(), passwords = SampleSink()
        // Set-up first: under the password load, cookies would wait behind every hash.
        let brokers = try await connectBrokers(plan)
        let calls = checkCalls(plan, cookies: try await cookies(plan))
        let cpuStart = processCPUSeconds(), start = monotonicSeconds()
        let deadline = start + plan.warmupSeconds + plan.durationSeconds
        async let passwordRun: Void = passwordLoad(passwordPlan, until: deadline, into: passwords)
        // Let the password load reach full speed before measuring checks.
        try await Task.sleep(for: .seconds(plan.warmupSeconds))
        emitLine(windowStart)
        let checkStart = monotonicSeconds()
        await checkLoad(brokers, calls: calls, until: deadline, into: checks)
        let checkDuration = monotonicSeconds() - checkStart
        emitLine(windowEnd)
        try await passwordRun
        for (connection, _) in brokers { await connection.close() }
        let wall = monotonicSeconds() - start
        return GeneratorReport(scenario: "mixed", primary: checks.samples.summary(duration: checkDuration),
                               secondary: passwords.samples.summary(duration: wall),
                               generatorCores: (processCPUSeconds() - cpuStart) / wall)
    }

    /// `idle`: `clients` logged-in connections held open until standard input closes.
    static func idle(_ plan: LoadPlan) async throws -> GeneratorReport {
        let cookies = try await cookies(plan)
        var held: [(PBClientConnection, PBRemoteReference)] = []
        var samples = LatencySamples()
        let start = monotonicSeconds()
        for index in 0..<plan.clients {
            let began = monotonicSeconds()
            let connection = try await connect(plan, port: plan.masterPort, group: group)
            held.append((connection, try await connection.login(username: Array(plan.user.utf8), secret: Array(cookies[index % cookies.count].utf8))))
            samples.add(monotonicSeconds() - began)
        }
        let wall = monotonicSeconds() - start
        emitLine("READY \(held.count)")
        _ = readLine()  // the orchestrator has sampled the master's memory
        for (connection, _) in held { await connection.close() }
        return GeneratorReport(scenario: "idle", primary: samples.summary(duration: wall), secondary: nil,
                               generatorCores: 0)
    }
}

/// Collects the samples of many tasks.
final class SampleSink: @unchecked Sendable {
    private let lock = NSLock()
    private var collected = LatencySamples()

    func merge(_ samples: LatencySamples) {
        lock.lock()
        collected.merge(samples)
        lock.unlock()
    }

    var samples: LatencySamples {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }
}

/// Why a benchmark could not run.
enum BenchError: Error, CustomStringConvertible {
    case unexpectedAnswer(String)
    case missing(String)
    case setupFailed(String)

    var description: String {
        switch self {
        case .unexpectedAnswer(let method): "unexpected answer to \(method)"
        case .missing(let what): "this scenario needs \(what)"
        case .setupFailed(let detail): "setup failed: \(detail)"
        }
    }
}
