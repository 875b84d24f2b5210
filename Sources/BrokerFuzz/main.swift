// The libFuzzer target for the whole PB server pipeline: bytes from a peer, before and after
// a login, through `PBServer.configureConnection` and pbauth's root object
// (`BrokerPortal.root(checker:logger:)` over a deterministic test checker).
//
// Fuzzing (libFuzzer supplies `main`):
//
//     swift build -c release --product BrokerFuzz --scratch-path .build-fuzz --sanitize=fuzzer
//     .build-fuzz/release/BrokerFuzz -dict=Sources/BrokerFuzz/pb.dict -max_len=1048576 [corpus-folder]
//
// or `scripts/fuzz-broker [runs]`, which does both and seeds the corpus from the captured
// Twisted streams in Tests/Fixtures/pb-capture/captures. The input format is in
// FuzzPlan.swift; the harness and its invariants in BrokerHarness.swift and PeerView.swift.
//
// As in BananaFuzz (see its main.swift): parsed as a library (fuzz build), this file defines
// no `main` and the lazy global `replayedFiles` is never read. In the ordinary `swift build`,
// this file is in script mode, so `replayedFiles` runs at start-up and replays every file
// named on the command line: `.build/debug/BrokerFuzz crash-…` (`-v` first prints what the
// server wrote and logged).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An embedded event loop used from the wrong thread (a task that left the loop) is a crash.
private let strictEmbeddedLoops: Void = {
    setenv("SWIFTNIO_STRICT", "1", 1)
}()

/// libFuzzer's entry point: one connection per input; a violated invariant crashes.
@_cdecl("LLVMFuzzerTestOneInput")
public func brokerFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    strictEmbeddedLoops
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    BrokerHarness.run(bytes)
    return 0
}

/// Script mode only (see the top of this file): replays the files named as arguments.
let replayedFiles: Int = {
    strictEmbeddedLoops
    let verbose = CommandLine.arguments.contains("-v")
    DiscardingLogHandler.printing = verbose
    var count = 0
    for path in CommandLine.arguments.dropFirst() where !path.hasPrefix("-") {
        guard let file = fopen(path, "rb") else {
            print("BrokerFuzz: cannot open \(path)")
            continue
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let read = fread(&chunk, 1, chunk.count, file)
            if read <= 0 { break }
            bytes += chunk[..<read]
        }
        fclose(file)
        if verbose { print("== \(path) (\(bytes.count) bytes): \(FuzzPlan(bytes).summary)") }
        BrokerHarness.run(bytes, verbose: verbose)
        count += 1
    }
    print("BrokerFuzz: replayed \(count) file(s) without a crash")
    return count
}()
