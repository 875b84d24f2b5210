let arguments = CommandLine.arguments
switch arguments.count > 1 ? arguments[1] : "" {
case "codec":
    try CodecBenchmark.run(arguments: Array(arguments.dropFirst(2)))
default:
    print("usage: pbauth-bench codec")
}
