import ArgumentParser
import Foundation

/// `pbauth-bench load SCENARIO...`: starts a master (and a subordinate) of its
/// own on loopback, or uses running ones, runs the load generator as a separate
/// process, and prints a table and one JSON line. For every scenario it prints each server
/// process's CPU per request (user and system apart, µs) over the measured window only.
///
///     pbauth-bench load check login password mixed idle [--duration S] [--connections N]
///         [--in-flight K] [--clients C] [--idle-connections N] [--tls] [--pbauth PATH]
///     pbauth-bench load check --master HOST:PORT --user U --password P --broker B --token T
enum LoadBenchmark {
    static func run(options: Options) async throws {
        raiseOpenFileLimit()
        var results: [[String: Any]] = []
        var checkAloneP99: Double?

        for scenario in options.scenarios {
            // A fresh master (and subordinate) per scenario, so that one scenario's
            // leftovers (memory, sessions, a lockout) do not colour the next.
            let cluster = try BenchCluster(options: options)
            defer { cluster.stop() }
            var plan = cluster.plan(for: scenario)
            plan.connections = options.connections
            plan.inFlight = options.inFlight
            plan.clients = scenario == .idle ? options.idleConnections : scenario == .password ? options.passwordClients : options.clients
            plan.durationSeconds = options.duration
            plan.warmupSeconds = options.warmup

            let (report, rss, window) = try runGenerator(plan: plan, cluster: cluster)
            var row: [String: Any] = [
                "scenario": scenario.rawValue,
                "per_second": round1(report.primary.perSecond), "p50_ms": round3(report.primary.p50),
                "p99_ms": round3(report.primary.p99), "max_ms": round3(report.primary.max),
                "errors": report.primary.errors, "count": report.primary.count, "tls": options.tls,
            ]
            // Each login is a new connection and so one full TLS handshake (no resumption).
            if scenario == .login, options.tls { row["handshakes_per_second"] = round1(report.primary.perSecond) }
            if scenario != .idle { row["generator_cores"] = round3(report.generatorCores) }
            // The servers' CPU over the measured window only, and per request in it (µs).
            if let window, window.seconds > 0 {
                let requests = Double(max(1, report.primary.count))
                var total = 0.0
                for (name, used) in [("master", window.master), ("subordinate", window.subordinate)] {
                    guard let used else { continue }
                    row["\(name)_cores"] = round3((used.user + used.system) / window.seconds)
                    row["\(name)_user_us"] = round2(used.user / requests * 1e6)
                    row["\(name)_system_us"] = round2(used.system / requests * 1e6)
                    total += used.user + used.system
                }
                row["server_us_per_request"] = round2(total / requests * 1e6)
            }
            if scenario == .check { checkAloneP99 = report.primary.p99 }
            if let secondary = report.secondary {
                row["password_per_second"] = round1(secondary.perSecond)
                row["password_p99_ms"] = round3(secondary.p99)
                if let alone = checkAloneP99, alone > 0 { row["check_p99_ratio"] = round3(report.primary.p99 / alone) }
            }
            if let rss { row["master_rss_mib"] = round1(Double(rss) / 1_048_576) }
            if scenario == .password || scenario == .mixed {
                row["password_threads"] = cluster.passwordThreads
                if let busyThreads = window?.masterBusyThreads { row["master_threads_over_half_a_core"] = busyThreads }
            }
            results.append(row)
            printRow(row)
        }
        let json = try JSONSerialization.data(withJSONObject: ["pbauth_load": results], options: [.sortedKeys])
        emitLine(String(decoding: json, as: UTF8.self))
    }

    /// Runs the generator process for `plan`; for `idle`, samples the master's memory while the
    /// connections are held. Reads the servers' CPU times when the generator says its measured
    /// window starts and ends (`LoadGenerator.windowStart`, `.windowEnd`).
    static func runGenerator(plan: LoadPlan, cluster: BenchCluster) throws -> (GeneratorReport, Int?, MeasuredWindow?) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["generate", String(decoding: try JSONEncoder().encode(plan), as: UTF8.self)]
        let output = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        var rss: Int?
        var lines: [String] = []
        var buffer = Data()
        var opened: MeasuredWindow.Reading?, window: MeasuredWindow?
        let handle = output.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                if line.hasPrefix("READY") {
                    Thread.sleep(forTimeInterval: 1)
                    rss = cluster.masterPID.flatMap { ProcessProbe.residentBytes(pid: $0) }
                    input.fileHandleForWriting.write(Data("done\n".utf8))
                } else if line == LoadGenerator.windowStart {
                    opened = MeasuredWindow.Reading(cluster)
                } else if line == LoadGenerator.windowEnd, let opened {
                    window = MeasuredWindow(from: opened, to: MeasuredWindow.Reading(cluster))
                } else {
                    lines.append(line)
                }
            }
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0, let last = lines.last,
              let report = try? JSONDecoder().decode(GeneratorReport.self, from: Data(last.utf8)) else {
            throw BenchError.setupFailed("the load generator failed for \(plan.scenario.rawValue)")
        }
        return (report, rss, window)
    }

    static func printRow(_ row: [String: Any]) {
        let keys = ["scenario", "tls", "per_second", "handshakes_per_second", "p50_ms", "p99_ms", "max_ms", "errors", "generator_cores",
                    "master_cores", "master_user_us", "master_system_us", "subordinate_cores", "subordinate_user_us",
                    "subordinate_system_us", "server_us_per_request",
                    "password_per_second", "password_p99_ms", "check_p99_ratio", "master_rss_mib", "password_threads",
                    "master_threads_over_half_a_core"]
        let text = keys.compactMap { key in row[key].map { "\(key)=\($0)" } }.joined(separator: "  ")
        emitLine(text)
    }

    static func round1(_ value: Double) -> Double { (value * 10).rounded() / 10 }
    static func round2(_ value: Double) -> Double { (value * 100).rounded() / 100 }
    static func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    /// The options of `load` (and of `hostile`, which starts the same daemons).
    struct Options: ParsableArguments {
        @Argument(help: "Scenarios to run: check, login, password, mixed, idle (default: all).")
        var scenarios: [LoadPlan.Scenario] = []
        @Option(help: "Seconds each scenario is measured.") var duration = 5.0
        @Option(help: "Seconds of load before measuring.") var warmup = 1.0
        @Option(help: "Broker connections of check.") var connections = 16
        @Option(help: "Calls in flight per check connection.") var inFlight = 16
        @Option(help: "Clients of login.") var clients = 32
        @Option(help: "Clients of password.") var passwordClients = 4
        @Option(help: "The master's password_threads.") var passwordThreads = 1
        @Option(help: "Connections of idle (and of hostile's memory figures).") var idleConnections = 1000
        @Option(help: "A running master, HOST:PORT (only the port is used: 127.0.0.1).") var master: String?
        @Option(help: "A running subordinate, HOST:PORT.") var subordinate: String?
        @Option(help: "The user of a running master.") var user = "bench-user"
        @Option(help: "That user's password.") var password = "bench password"
        @Option(help: "The broker principal of a running master.") var broker = "bench-broker"
        @Option(help: "That broker principal's token.") var token: String?
        @Flag(help: "TLS on every hop (load only): the daemons of its own serve TLS only, with a CA it makes with openssl, and the subordinate's upstream link is TLS; every connection of the generator is TLS.")
        var tls = false
        @Option(help: "With --tls and running brokers: the CA bundle that verifies them.") var ca: String?
        @Option(help: "The pbauth binary whose master and subordinate are started (for A/B runs against another build; default: the one beside pbauth-bench).")
        var pbauth: String?

        init() {}

        mutating func validate() throws {
            guard duration > 0, warmup >= 0 else { throw ValidationError("--duration must be above 0 and --warmup at least 0") }
            for (name, value) in [("--connections", connections), ("--in-flight", inFlight), ("--clients", clients),
                                  ("--password-clients", passwordClients), ("--password-threads", passwordThreads),
                                  ("--idle-connections", idleConnections)] where value < 1 {
                throw ValidationError("\(name) must be at least 1")
            }
            if master != nil, token == nil { throw ValidationError("--master needs --token") }
            if master != nil, tls, ca == nil { throw ValidationError("--tls with --master needs --ca") }
            if scenarios.isEmpty { scenarios = LoadPlan.Scenario.allCases }
        }
    }
}

/// What the servers spent over the generator's measured window (user and system CPU seconds
/// apart, per process), and how long the window was.
struct MeasuredWindow {
    /// One reading of the clock and of each server process.
    struct Reading {
        let time = monotonicSeconds()
        let master: ProcessProbe.CPUTimes?
        let subordinate: ProcessProbe.CPUTimes?
        let masterThreads: [String: Double]

        init(_ cluster: BenchCluster) {
            master = cluster.masterPID.flatMap { ProcessProbe.cpuTimes(pid: $0) }
            subordinate = cluster.subordinatePID.flatMap { ProcessProbe.cpuTimes(pid: $0) }
            masterThreads = cluster.masterPID.map { ProcessProbe.threadCPUSeconds(pid: $0) } ?? [:]
        }
    }

    let seconds: Double
    let master: ProcessProbe.CPUTimes?
    let subordinate: ProcessProbe.CPUTimes?
    /// The master's threads that used more than half a core in the window.
    let masterBusyThreads: Int

    init(from start: Reading, to end: Reading) {
        seconds = end.time - start.time
        master = start.master.flatMap { before in end.master.map { $0 - before } }
        subordinate = start.subordinate.flatMap { before in end.subordinate.map { $0 - before } }
        masterBusyThreads = ProcessProbe.busyThreads(before: start.masterThreads, after: end.masterThreads, wall: max(seconds, 0.001))
    }
}
