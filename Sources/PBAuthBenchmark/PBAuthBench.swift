import ArgumentParser
import Foundation

/// `pbauth-bench SUBCOMMAND`: prints measured figures; each benchmark lives in its own file.
@main
struct PBAuthBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pbauth-bench",
        abstract: "Measures pbauth and prints the figures (release builds of pbauth and pbauth-bench side by side).",
        subcommands: [Store.self, Codec.self, Echo.self, Load.self, Hostile.self, Refusals.self, EchoServer.self, Generate.self])

    struct Store: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Live-session lookups per second on one thread, and one scrypt hash.")
        @Option(help: "Live sessions per account.") var sessions = 3
        @Option(help: "Seconds of lookups.") var seconds = 2.0

        func validate() throws {
            guard sessions >= 0, seconds > 0 else { throw ValidationError("--sessions must be at least 0 and --seconds above 0") }
        }

        func run() throws { try StoreBenchmark.run(sessionsPerAccount: sessions, seconds: seconds) }
    }

    struct Codec: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Banana/jelly: an authenticate_account call and its answer, on one core.")
        @Option(help: "Operations per figure.") var iterations = 1_000_000
        @Option(help: "Only the figures whose name starts with this.") var only: String?

        func validate() throws {
            guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        }

        func run() throws { try CodecBenchmark.run(iterations: iterations, only: only) }
    }

    struct Echo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pipelined PB echo round trips between two processes.")
        @Option(help: "Calls in all.") var calls = 200_000
        @Option(help: "Calls in flight.") var window = 128

        func validate() throws {
            guard calls >= 1, window >= 1 else { throw ValidationError("--calls and --window must be at least 1") }
        }

        func run() async throws { try await EchoBenchmark.run(calls: calls, window: window) }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load scenarios against a master and a subordinate of its own (or running ones).")
        @OptionGroup var options: LoadBenchmark.Options

        func run() async throws { try await LoadBenchmark.run(options: options) }
    }

    struct Hostile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Memory that strangers and idle connections hold, and event-loop stalls under the worst messages.")
        @OptionGroup var options: LoadBenchmark.Options

        func run() async throws { try await HostileBenchmark.run(options: options) }
    }

    struct Refusals: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How long a refused login takes by reason (unknown account, disabled, wrong cookie), at both daemons.")
        @OptionGroup var options: LoadBenchmark.Options
        @Option(help: "Rounds of the three refusals (after 50 to warm up).") var rounds = 2_000

        func validate() throws {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        }

        func run() async throws { try await RefusalBenchmark.run(options: options, rounds: rounds) }
    }

    struct EchoServer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "echo-server", abstract: "Internal: the server process of echo.",
                                                        shouldDisplay: false)

        func run() async throws { try await EchoBenchmark.serve() }
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Internal: the load generator process that load starts.",
                                                        shouldDisplay: false)
        @Argument(help: "The plan, as JSON.") var plan: String

        func run() async throws {
            try await LoadGenerator.run(plan: try JSONDecoder().decode(LoadPlan.self, from: Data(plan.utf8)))
        }
    }
}
