import Foundation

// pbauth-bench SUBCOMMAND [ARGUMENTS]: prints measured figures.
let arguments = Array(CommandLine.arguments.dropFirst())
let usage = "usage: pbauth-bench store [--sessions N] [--seconds S]\n"

do {
    switch arguments.first {
    case "store":
        try StoreBenchmark.run(arguments: Array(arguments.dropFirst()))
    default:
        FileHandle.standardError.write(Data(usage.utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("pbauth-bench: \(error)\n".utf8))
    exit(1)
}
