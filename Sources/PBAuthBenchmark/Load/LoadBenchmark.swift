import Foundation

/// `pbauth-bench load SCENARIO...`: starts a master (and a subordinate) of its
/// own on loopback, or uses running ones, runs the load generator as a separate
/// process, and prints a table and one JSON line.
///
///     pbauth-bench load check login password mixed idle [--duration S] [--connections N]
///         [--in-flight K] [--clients C] [--idle-connections N]
///     pbauth-bench load check --master HOST:PORT --user U --password P --broker B --token T
enum LoadBenchmark {
    static func run(arguments: [String]) async throws {
        var options = Options()
        try options.parse(arguments)
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

            let cpuBefore = cluster.masterCPUSeconds()
            let subordinateCPUBefore = cluster.subordinateCPUSeconds()
            let threadsBefore = cluster.masterPID.map { ProcessProbe.threadCPUSeconds(pid: $0) } ?? [:]
            let started = monotonicSeconds()
            let (report, rss) = try runGenerator(plan: plan, masterPID: cluster.masterPID)
            let wall = max(monotonicSeconds() - started, 0.001)
            // Over the generator's whole run (set-up and warm-up included), as the readings are.
            let masterCores = ((cluster.masterCPUSeconds() ?? 0) - (cpuBefore ?? 0)) / wall
            let subordinateCores = ((cluster.subordinateCPUSeconds() ?? 0) - (subordinateCPUBefore ?? 0)) / wall
            let busyThreads = cluster.masterPID.map {
                ProcessProbe.busyThreads(before: threadsBefore, after: ProcessProbe.threadCPUSeconds(pid: $0), wall: wall)
            }
            var row: [String: Any] = [
                "scenario": scenario.rawValue,
                "per_second": round1(report.primary.perSecond), "p50_ms": round3(report.primary.p50),
                "p99_ms": round3(report.primary.p99), "max_ms": round3(report.primary.max),
                "errors": report.primary.errors, "count": report.primary.count,
            ]
            if scenario != .idle {
                row["generator_cores"] = round3(report.generatorCores)
                row["master_cores"] = round3(masterCores)
            }
            if scenario == .login { row["subordinate_cores"] = round3(subordinateCores) }
            if scenario == .check { checkAloneP99 = report.primary.p99 }
            if let secondary = report.secondary {
                row["password_per_second"] = round1(secondary.perSecond)
                row["password_p99_ms"] = round3(secondary.p99)
                if let alone = checkAloneP99, alone > 0 { row["check_p99_ratio"] = round3(report.primary.p99 / alone) }
            }
            if let rss { row["master_rss_mib"] = round1(Double(rss) / 1_048_576) }
            if scenario == .password || scenario == .mixed {
                row["password_threads"] = cluster.passwordThreads
                if let busyThreads { row["master_threads_over_half_a_core"] = busyThreads }
            }
            results.append(row)
            printRow(row)
        }
        let json = try JSONSerialization.data(withJSONObject: ["pbauth_load": results], options: [.sortedKeys])
        emitLine(String(decoding: json, as: UTF8.self))
    }

    /// Runs the generator process for `plan`; for `idle`, samples the master's memory while the connections are held.
    static func runGenerator(plan: LoadPlan, masterPID: Int32?) throws -> (GeneratorReport, Int?) {
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
                    rss = masterPID.flatMap { ProcessProbe.residentBytes(pid: $0) }
                    input.fileHandleForWriting.write(Data("done\n".utf8))
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
        return (report, rss)
    }

    static func printRow(_ row: [String: Any]) {
        let keys = ["scenario", "per_second", "p50_ms", "p99_ms", "max_ms", "errors", "generator_cores", "master_cores", "subordinate_cores",
                    "password_per_second", "password_p99_ms", "check_p99_ratio", "master_rss_mib", "password_threads",
                    "master_threads_over_half_a_core"]
        let text = keys.compactMap { key in row[key].map { "\(key)=\($0)" } }.joined(separator: "  ")
        emitLine(text)
    }

    static func round1(_ value: Double) -> Double { (value * 10).rounded() / 10 }
    static func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    struct Options {
        var scenarios: [LoadPlan.Scenario] = []
        var duration = 5.0
        var warmup = 1.0
        var connections = 16
        var inFlight = 16
        var clients = 32
        var passwordClients = 4
        var passwordThreads = 1
        var idleConnections = 1000
        var master: String?
        var subordinate: String?
        var user = "bench-user"
        var password = "bench password"
        var broker = "bench-broker"
        var token: String?

        mutating func parse(_ arguments: [String]) throws {
            var iterator = arguments.makeIterator()
            while let argument = iterator.next() {
                func value() throws -> String {
                    guard let next = iterator.next() else { throw BenchError.setupFailed("\(argument) needs a value") }
                    return next
                }
                switch argument {
                case "--duration": duration = Double(try value()) ?? duration
                case "--warmup": warmup = Double(try value()) ?? warmup
                case "--connections": connections = Int(try value()) ?? connections
                case "--in-flight": inFlight = Int(try value()) ?? inFlight
                case "--clients": clients = Int(try value()) ?? clients
                case "--password-clients": passwordClients = Int(try value()) ?? passwordClients
                case "--password-threads": passwordThreads = Int(try value()) ?? passwordThreads
                case "--idle-connections": idleConnections = Int(try value()) ?? idleConnections
                case "--master": master = try value()
                case "--subordinate": subordinate = try value()
                case "--user": user = try value()
                case "--password": password = try value()
                case "--broker": broker = try value()
                case "--token": token = try value()
                default:
                    guard let scenario = LoadPlan.Scenario(rawValue: argument) else {
                        throw BenchError.setupFailed("unknown scenario or option '\(argument)' (scenarios: check login password mixed idle)")
                    }
                    scenarios.append(scenario)
                }
            }
            if scenarios.isEmpty { scenarios = LoadPlan.Scenario.allCases }
        }
    }
}
