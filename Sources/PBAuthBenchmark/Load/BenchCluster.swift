import Foundation

/// The brokers a load run uses: its own master and subordinate on loopback
/// (started from the `pbauth` binary beside this one, over a fresh database with
/// the default scrypt parameters), or running ones named on the command line.
final class BenchCluster {
    private(set) var masterPort = 0
    private(set) var subordinatePort: Int?
    private(set) var masterPID: Int32?
    private(set) var subordinatePID: Int32?
    let passwordThreads: Int
    private var processes: [Process] = []
    private var folder: String?
    private let user: String
    private let password: String
    private let broker: String
    private var token = ""
    /// TLS on every hop: the CA bundle the generator verifies the brokers with.
    private let tls: Bool
    private var tlsCA: String?
    private let pbauthPath: String?

    init(options: LoadBenchmark.Options) throws {
        user = options.user
        password = options.password
        passwordThreads = options.passwordThreads
        broker = options.broker
        tls = options.tls
        pbauthPath = options.pbauth
        tlsCA = options.tls ? options.ca : nil
        if let master = options.master {
            guard let endpoint = Self.port(of: master), let token = options.token else {
                throw BenchError.setupFailed("--master HOST:PORT needs --token (and --user, --password, --broker when not the defaults)")
            }
            masterPort = endpoint
            subordinatePort = options.subordinate.flatMap(Self.port(of:))
            self.token = token
            return
        }
        do {
            try startOwn()
        } catch {
            stop()  // what did start must not outlive a failed set-up
            throw error
        }
    }

    private static func port(of endpoint: String) -> Int? {
        endpoint.split(separator: ":").last.flatMap { Int($0) }
    }

    /// The `pbauth` binary whose daemons are measured: `--pbauth`, or the one beside this one.
    private var pbauth: String {
        pbauthPath ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("pbauth").path
    }

    /// Whether `process` stopped at once because its build does not know the throttle's setting.
    private func knowsNoThrottle(_ process: Process, log: String) -> Bool {
        for _ in 0..<100 {
            if let contents = try? String(contentsOfFile: log, encoding: .utf8) {
                if contents.contains("unknown setting 'throttle_free_failures'") {
                    process.waitUntilExit()
                    return true
                }
                if contents.contains("listening") { return false }
            }
            if !process.isRunning { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    private func startOwn() throws {
        let folder = NSTemporaryDirectory() + "pbauth-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.folder = folder
        let database = folder + "/bench.sqlite"
        _ = try admin(["migrate", "--database", database])
        _ = try admin(["account", "add", user, "--database", database, "--password-stdin"], input: password + "\n")
        token = try admin(["account", "add", broker, "--broker", "--database", database]).split(separator: "\n").last.map(String.init) ?? ""
        let edgeToken = try admin(["account", "add", "bench-edge", "--broker", "--database", database]).split(separator: "\n").last.map(String.init) ?? ""
        // For `refusals`: an account whose logins are refused as disabled.
        _ = try admin(["account", "add", Self.disabledUser, "--database", database, "--password-stdin"], input: "unused password\n")
        _ = try admin(["account", "disable", Self.disabledUser, "--database", database])
        let tokenFile = folder + "/edge.token"
        try Data((edgeToken + "\n").utf8).write(to: URL(fileURLWithPath: tokenFile))

        // With --tls, the portals listen for TLS only and the upstream link is TLS too.
        var listen = ["--listen", "127.0.0.1:0"], upstreamTLS: [String] = []
        if tls {
            let files = try BenchCertificates.make(in: folder)
            tlsCA = files.ca
            listen = ["--set", "listen=off", "--set", "tls_listen=127.0.0.1:0",
                      "--set", "tls_certificate=\(files.certificate)", "--set", "tls_key=\(files.key)"]
            upstreamTLS = ["--set", "upstream_tls=true", "--set", "upstream_ca=\(files.ca)"]
        }
        // A build older than the login throttle (an A/B baseline) is started without its setting.
        var unthrottled = ["--set", Self.unthrottled]
        var master = try start(["master", "--database", database] + listen + ["--set", "password_threads=\(passwordThreads)"]
                               + unthrottled, log: folder + "/master.log")
        if knowsNoThrottle(master, log: folder + "/master.log") {
            unthrottled = []
            master = try start(["master", "--database", database] + listen + ["--set", "password_threads=\(passwordThreads)"],
                               log: folder + "/master.log")
        }
        masterPID = master.processIdentifier
        masterPort = try waitForPort(log: folder + "/master.log", role: "master")
        let subordinate = try start(["subordinate", "--upstream", "127.0.0.1:\(masterPort)", "--broker", "bench-edge",
                                     "--token-file", tokenFile] + listen + upstreamTLS + unthrottled,
                                    log: folder + "/edge.log")
        subordinatePID = subordinate.processIdentifier
        subordinatePort = try waitForPort(log: folder + "/edge.log", role: "subordinate")
        guard subordinatePort != masterPort else { throw BenchError.setupFailed("the subordinate's port was read as the master's") }
        try waitFor(log: folder + "/edge.log", text: "upstream connected")
    }

    /// The disabled account of `refusals`.
    static let disabledUser = "bench-disabled"
    /// All load comes from 127.0.0.1, and `refusals` fails logins by design: no throttling.
    static let unthrottled = "throttle_free_failures=1000000"

    func plan(for scenario: LoadPlan.Scenario) -> LoadPlan {
        LoadPlan(scenario: scenario, masterPort: masterPort, subordinatePort: subordinatePort,
                 user: user, password: password, broker: broker, token: token, tlsCA: tlsCA)
    }

    func masterCPUSeconds() -> Double? { masterPID.flatMap { ProcessProbe.cpuSeconds(pid: $0) } }

    func subordinateCPUSeconds() -> Double? { subordinatePID.flatMap { ProcessProbe.cpuSeconds(pid: $0) } }

    func stop() {
        for process in processes where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
    }

    // MARK: Processes

    private func admin(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pbauth)
        process.arguments = arguments
        let output = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError.setupFailed("pbauth \(arguments.prefix(2).joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }

    /// Starts a daemon whose standard error goes to `log` (a pipe nobody drains would stall it).
    private func start(_ arguments: [String], log: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pbauth)
        process.arguments = arguments
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        processes.append(process)
        return process
    }

    private func waitFor(log: String, text: String) throws {
        for _ in 0..<600 {
            if let contents = try? String(contentsOfFile: log, encoding: .utf8), contents.contains(text) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw BenchError.setupFailed("'\(text)' never appeared in \(log)")
    }

    private func waitForPort(log: String, role: String) throws -> Int {
        let listening = tls ? "listening for TLS on" : "listening on"
        try waitFor(log: log, text: "pbauth \(role) \(listening)")
        let contents = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // The address right after "listening on": the line's metadata, printed before
        // the message, names the upstream's address too.
        guard let line = contents.split(separator: "\n").first(where: { $0.contains("pbauth \(role) \(listening)") }),
              let range = line.range(of: listening + #" 127\.0\.0\.1:\d+"#, options: .regularExpression),
              let port = Int(line[range].split(separator: ":").last ?? "") else {
            throw BenchError.setupFailed("no port in \(log)")
        }
        return port
    }
}

/// The CA and the server certificate of `load --tls`, made with the openssl command-line
/// tool (P-256 keys; the certificate names 127.0.0.1 and localhost).
enum BenchCertificates {
    static func make(in folder: String) throws -> (ca: String, certificate: String, key: String) {
        let ca = folder + "/ca.pem", caKey = folder + "/ca.key"
        let certificate = folder + "/server.pem", key = folder + "/server.key", request = folder + "/server.csr"
        let extensions = folder + "/server.cnf"
        try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n".utf8)
            .write(to: URL(fileURLWithPath: extensions))
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", caKey,
                     "-out", ca, "-days", "2", "-subj", "/CN=pbauth-bench CA"])
        try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                     "-out", request, "-subj", "/CN=pbauth-bench server"])
        try openssl(["x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-set_serial", "1", "-days", "2",
                     "-extfile", extensions, "-out", certificate])
        for file in [caKey, key] { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file) }
        return (ca, certificate, key)
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError.setupFailed("openssl \(arguments.first ?? "") failed") }
    }
}
