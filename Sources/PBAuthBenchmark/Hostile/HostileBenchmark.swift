import Banana
import Foundation
import NIOCore
import NIOPosix
import PerspectiveBroker

/// `pbauth-bench hostile`: what strangers and hostile logged-in peers can take from a master
/// and a subordinate of its own (release builds of both binaries beside this one).
///
/// - memory: 1,000 unauthenticated connections each holding a partial message just under the
///   stranger bound; 1,000 idle logged-in connections; 200 `login()` calls with 500 kB
///   usernames on one connection. Each as the daemon's resident memory before and after.
/// - event loop stalls: while 4 probe connections call `ping()` in a loop, an attacker sends
///   the worst shapes it can at the largest size allowed (before and after a login); the
///   figure is the probes' longest round trip, against their longest with no attack.
enum HostileBenchmark {
    static func run(options: LoadBenchmark.Options) async throws {
        raiseOpenFileLimit()
        guard !options.tls else { throw BenchError.setupFailed("--tls is for load only: these figures are of plain connections") }
        let connections = options.idleConnections
        var json: [String: Any] = [:]
        // A fresh master and subordinate for each figure: memory one measurement freed is
        // otherwise reused by the next, which would then look free.
        func eachDaemon(_ body: (String, Int, Int32, LoadPlan) async throws -> Void) async throws {
            let cluster = try BenchCluster(options: options)
            defer { cluster.stop() }
            guard let masterPID = cluster.masterPID, let subordinatePID = cluster.subordinatePID,
                  let subordinatePort = cluster.subordinatePort else { throw BenchError.setupFailed("no daemons of its own") }
            let plan = cluster.plan(for: .check)
            try await body("master", cluster.masterPort, masterPID, plan)
            try await body("subordinate", subordinatePort, subordinatePID, plan)
        }
        try await eachDaemon { role, port, pid, _ in
            let strangers = try await holdStrangers(port: port, pid: pid, count: connections)
            print("\(role): \(connections) unauthenticated connections, each holding a partial message of \(strangerHold) bytes: "
                  + "+\(mib(strangers.growth)) MiB (\(strangers.growth / max(1, connections) / 1024) KiB each; \(strangers.open) still open)")
            json["\(role)_strangers_mib"] = Double(strangers.growth) / 1_048_576
        }
        try await eachDaemon { role, port, pid, plan in
            let loggedIn = try await holdLoggedIn(port: port, pid: pid, count: connections, plan: plan)
            print("\(role): \(connections) idle logged-in connections: +\(mib(loggedIn)) MiB (\(loggedIn / max(1, connections) / 1024) KiB each)")
            json["\(role)_logged_in_mib"] = Double(loggedIn) / 1_048_576
        }
        try await eachDaemon { role, port, pid, _ in
            let usernames = try await hugeUsernames(port: port, pid: pid)
            print("\(role): 200 login() calls with 500 kB usernames on one connection: +\(mib(usernames.growth)) MiB, "
                  + "\(usernames.sent) sent before the server closed it")
            json["\(role)_usernames_mib"] = Double(usernames.growth) / 1_048_576
        }
        let cluster = try BenchCluster(options: options)
        defer { cluster.stop() }
        let stalls = try await stalls(plan: cluster.plan(for: .check))
        for (name, row) in stalls {
            print(String(format: "stall %-36@ probes' longest round trip %7.2f ms (quiet: %5.2f ms); attacker's answer or close %7.2f ms",
                         name as NSString, row.attack, row.quiet, row.server))
            json["stall_\(name.replacingOccurrences(of: " ", with: "_"))_ms"] = (row.attack * 100).rounded() / 100
        }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static let strangerHold = 2_000

    static func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }

    /// Settles, then reads the resident memory.
    static func resident(_ pid: Int32) async -> Int {
        try? await Task.sleep(for: .milliseconds(500))
        return ProcessProbe.residentBytes(pid: pid) ?? 0
    }

    /// `count` connections that finish the handshake, then send all but the last byte of a
    /// login message just under the stranger bound, and hold it.
    static func holdStrangers(port: Int, pid: Int32, count: Int) async throws -> (growth: Int, open: Int) {
        let before = await resident(pid)
        var partial = [0x02, 0x82, 0x70, 0x62] + HostileShapes.list(2) + HostileShapes.vocab(19) + HostileShapes.int(6)
        let username = HostileShapes.header(strangerHold - 40, 0x82) + Array(repeating: UInt8(0x61), count: strangerHold - 41)
        partial += HostileShapes.list(7) + HostileShapes.vocab(26) + HostileShapes.int(1) + HostileShapes.string(Array("root".utf8))
            + HostileShapes.vocab(20) + HostileShapes.int(1) + HostileShapes.list(2) + HostileShapes.tupleWord + username
        var channels: [any Channel] = []
        for _ in 0..<count {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            channel.writeAndFlush(ByteBuffer(bytes: partial), promise: nil)
            channels.append(channel)
        }
        let after = await resident(pid)
        let open = channels.filter(\.isActive).count
        for channel in channels { try? await channel.close() }
        return (after - before, open)
    }

    /// `count` connections logged in as the benchmark's user (a cookie login), then idle.
    static func holdLoggedIn(port: Int, pid: Int32, count: Int, plan: LoadPlan) async throws -> Int {
        let status = try await PBClientConnection.connect(host: "127.0.0.1", port: plan.masterPort, group: MultiThreadedEventLoopGroup.singleton)
        let answer = try await status.root.callRemote("authenticate", .string(plan.user), .string(plan.password))
        await status.close()
        guard let cookie = answer.dictionaryValue?["cookie"]?.stringValue else { throw BenchError.setupFailed("no cookie") }
        let before = await resident(pid)
        var held: [PBClientConnection] = []
        for _ in 0..<count {
            let connection = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
            _ = try await connection.login(username: Array(plan.user.utf8), secret: Array(cookie.utf8))
            held.append(connection)
        }
        let after = await resident(pid)
        for connection in held { await connection.close() }
        return after - before
    }

    /// One connection that sends 200 `login()` calls with 500 kB usernames.
    static func hugeUsernames(port: Int, pid: Int32) async throws -> (growth: Int, sent: Int) {
        let before = await resident(pid)
        let connection = try await RawPBConnection.connect(port: port)
        let username = HostileShapes.string(Array(repeating: 0x61, count: 500_000))
        var sent = 0
        for requestID in 1...200 {
            let message = HostileShapes.call(requestID: requestID, object: nil, method: "login", items: [username])
            do {
                try await connection.send(message)
            } catch {
                break
            }
            sent += 1
        }
        let after = await resident(pid)
        await connection.close()
        return (after - before, sent)
    }

    struct Stall {
        var quiet = 0.0
        var attack = 0.0
        var server = 0.0
    }

    /// The probes' longest round trip while each shape is sent 20 times, at the master and
    /// at the subordinate, after a login (64 KiB) and before one (2 KiB).
    static func stalls(plan: LoadPlan) async throws -> [(String, Stall)] {
        var rows: [(String, Stall)] = []
        for (role, port) in [("master", plan.masterPort), ("subordinate", plan.subordinatePort ?? plan.masterPort)] {
            var probes: [PBRemoteReference] = []
            for _ in 0..<4 {
                let connection = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
                probes.append(try await connection.login(username: Array(plan.broker.utf8), secret: Array(plan.token.utf8)))
            }
            for shape in HostileShapes.all {
                for loggedIn in [true, false] {
                    var row = Stall()
                    row.quiet = try await probe(probes, seconds: 0.5) { [Double]() }.longest
                    let attacked = try await probe(probes, seconds: 0) {
                        (try? await attack(port: port, shape: shape, loggedIn: loggedIn, plan: plan)) ?? []
                    }
                    row.attack = attacked.longest
                    row.server = attacked.result.max() ?? 0
                    rows.append(("\(role) \(shape) \(loggedIn ? "64KiB" : "2KiB")", row))
                }
            }
        }
        return rows
    }

    /// Runs `work` while the probes call `ping()` in a loop (at least `seconds`); answers their longest round trip in ms.
    static func probe<Result: Sendable>(_ probes: [PBRemoteReference], seconds: Double,
                                        _ work: @escaping @Sendable () async -> Result) async throws -> (longest: Double, result: Result) {
        let stop = ManagedAtomicFlag()
        return try await withThrowingTaskGroup(of: Double.self) { group in
            for probe in probes {
                group.addTask {
                    var longest = 0.0
                    while !stop.isSet {
                        let started = monotonicSeconds()
                        _ = try await probe.callRemote("ping", arguments: [], keywords: [:], timeout: .seconds(10))
                        longest = max(longest, (monotonicSeconds() - started) * 1000)
                    }
                    return longest
                }
            }
            let started = monotonicSeconds()
            let result = await work()
            let rest = seconds - (monotonicSeconds() - started)
            if rest > 0 { try await Task.sleep(for: .milliseconds(Int(rest * 1000))) }
            stop.set()
            var longest = 0.0
            for try await value in group { longest = max(longest, value) }
            return (longest, result)
        }
    }

    /// Sends `shape` 20 times; answers, for each, the ms until its answer or the connection's close.
    static func attack(port: Int, shape: String, loggedIn: Bool, plan: LoadPlan) async throws -> [Double] {
        var times: [Double] = []
        var connection: RawPBConnection?
        var avatar: Int?
        for _ in 0..<20 {
            if connection == nil {
                let fresh = try await RawPBConnection.connect(port: port)
                avatar = loggedIn ? try await fresh.login(username: plan.broker, secret: plan.token) : nil
                connection = fresh
            }
            guard let current = connection else { break }
            let requestID = current.takeRequestID()
            let items = HostileShapes.items(shape, budget: loggedIn ? 60_000 : 1_900)
            let message = HostileShapes.call(requestID: requestID, object: avatar, method: loggedIn ? "authenticate_account" : "login", items: items)
            let started = monotonicSeconds()
            try? await current.send(message)
            if await current.answer(to: requestID) == nil {
                connection = nil
                await current.close()
            }
            times.append((monotonicSeconds() - started) * 1000)
        }
        await connection?.close()
        return times
    }
}

/// A flag set once, read from any thread.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
