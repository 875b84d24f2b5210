import Banana
import Foundation
import Logging
import NIOCore
import NIOPosix
import PerspectiveBroker

/// Pipelined PB echo round trips over loopback between two processes.
///
///     pbauth-bench echo [--calls N] [--window W]
///
/// re-executes itself as `pbauth-bench echo-server` (which prints its port), connects,
/// keeps W calls in flight and prints the round trips per second.
enum EchoBenchmark {
    /// The server's root: `echo(*args)` answers the arguments as a tuple.
    final class EchoRoot: PBReferenceable {
        func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary,
                           context: PBCallContext) async throws -> JellyValue {
            guard method == "echo" else { throw PBCallError.noSuchMethod(method) }
            return .tuple(arguments)
        }
    }

    static func run(calls: Int, window: Int) async throws {
        let server = try startServerProcess()
        defer { server.terminate() }
        let port = try readPort(from: server)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: group)
        let payload: [JellyValue] = [
            .bytes(Array("alice".utf8)), .bytes(Array(repeating: 7, count: 16)),
            .dictionary(["via": .list([.string("edge1")])]),
        ]
        // Warm up, then measure.
        try await pipelinedEcho(client.root, calls: min(20_000, calls), window: window, payload: payload)
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            try await pipelinedEcho(client.root, calls: calls, window: window, payload: payload)
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(calls) / seconds
        print(String(format: "echo: %d pipelined round trips (window %d) in %.3f s = %.0f round trips/s",
                     calls, window, seconds, rate))
        await client.close()
        try await group.shutdownGracefully()
    }

    private static func pipelinedEcho(_ root: PBRemoteReference, calls: Int, window: Int,
                                      payload: [JellyValue]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<window {
                let share = calls / window + (worker < calls % window ? 1 : 0)
                group.addTask {
                    for _ in 0..<share {
                        _ = try await root.callRemote("echo", arguments: payload, keywords: [:])
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// `pbauth-bench echo-server`: serves `EchoRoot` on 127.0.0.1, prints the port, exits when stdin closes.
    static func serve() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var logger = Logger(label: "pbauth-bench.echo-server")
        logger.logLevel = .warning
        let root = EchoRoot()
        let server = PBServer(configuration: PBServerConfiguration(), group: group, logger: logger) { _ in root }
        let port = try await server.start()
        FileHandle.standardOutput.write(Data("\(port)\n".utf8))
        // Block a thread on stdin so the server dies with its parent.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                while let _ = readLine() {}
                continuation.resume()
            }
        }
        await server.stop(gracePeriod: .seconds(1))
        try await group.shutdownGracefully()
    }

    private static func startServerProcess() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["echo-server"]
        process.standardOutput = Pipe()
        process.standardInput = Pipe()
        try process.run()
        return process
    }

    private static func readPort(from process: Process) throws -> Int {
        guard let output = (process.standardOutput as? Pipe)?.fileHandleForReading else { throw EchoBenchmarkError.noPort }
        var line = Data()
        while true {
            let byte = output.readData(ofLength: 1)
            if byte.isEmpty || byte.first == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else { throw EchoBenchmarkError.noPort }
        return port
    }

    enum EchoBenchmarkError: Error, CustomStringConvertible {
        case noPort
        var description: String { "the echo server process did not print its port" }
    }
}
