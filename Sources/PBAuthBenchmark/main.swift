import Foundation

// pbauth-bench SUBCOMMAND [ARGUMENTS]: prints measured figures; each benchmark lives in its own file.
let arguments = Array(CommandLine.arguments.dropFirst())
let rest = Array(arguments.dropFirst())
let usage = """
    usage: pbauth-bench store [--sessions N] [--seconds S]
           pbauth-bench codec
           pbauth-bench echo [--calls N] [--window W]
           pbauth-bench load [check] [login] [password] [mixed] [idle] [--duration S] [--connections N]
                             [--in-flight K] [--clients C] [--idle-connections N]
                             [--password-clients N] [--password-threads N]
           pbauth-bench hostile [--idle-connections N]    (memory and event-loop stalls under attack)
           pbauth-bench load SCENARIO --master HOST:PORT [--subordinate HOST:PORT] --token T
                             [--user U --password P --broker B]    (running brokers)

    """

do {
    switch arguments.first {
    case "store":
        try StoreBenchmark.run(arguments: rest)
    case "codec":
        try CodecBenchmark.run(arguments: rest)
    case "echo":
        try await EchoBenchmark.run(arguments: rest)
    case "echo-server":
        try await EchoBenchmark.serve(arguments: rest)
    case "load":
        try await LoadBenchmark.run(arguments: rest)
    case "hostile":
        try await HostileBenchmark.run(arguments: rest)
    case "generate":
        // Internal: the load generator process that `load` starts.
        guard let json = rest.first else { throw BenchError.missing("a plan") }
        try await LoadGenerator.run(plan: try JSONDecoder().decode(LoadPlan.self, from: Data(json.utf8)))
    default:
        FileHandle.standardError.write(Data(usage.utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("pbauth-bench: \(error)\n".utf8))
    exit(1)
}
