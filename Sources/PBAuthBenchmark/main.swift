// pbauth-bench <benchmark> [options]: a tiny dispatch; each benchmark lives in its own file.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "codec":
    try CodecBenchmark.run(arguments: Array(arguments.dropFirst()))
case "echo":
    try await EchoBenchmark.run(arguments: Array(arguments.dropFirst()))
case "echo-server":
    try await EchoBenchmark.serve(arguments: Array(arguments.dropFirst()))
default:
    print("usage: pbauth-bench codec | echo [--calls N] [--window W] | echo-server")
}
