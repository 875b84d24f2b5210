// The libFuzzer target for the Banana/PB decoder.
//
// Fuzzing (libFuzzer supplies `main`):
//
//     swift build -c release --product BananaFuzz --scratch-path .build-fuzz --sanitize=fuzzer
//     .build-fuzz/release/BananaFuzz -runs=200000 [corpus-folder]
//
// or `scripts/fuzz [runs]`, which does both and seeds the corpus with the captured streams.
// Use SwiftPM's `--sanitize=fuzzer`, not `-Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library`:
// `-Xswiftc` flags also reach the package's plugin tool (whose main.swift then fails to
// compile), and SwiftPM links executables with `main` aliased to `BananaFuzz_main`, which
// does not exist once this file is parsed as a library. With `--sanitize=fuzzer`, SwiftPM
// itself compiles executables as libraries and lets libFuzzer provide `main`.
//
// How one file serves both builds: parsed as a library (fuzz build), this file defines no
// `main`, and the global `replayedFiles` below is a lazy global that is never read. In the
// ordinary `swift build`, `main.swift` is in script mode: its globals are initialized in
// order at start-up, so `replayedFiles` runs every file named on the command line through
// the same checks (`.build/debug/BananaFuzz crash-…` replays a crash without libFuzzer).

import Banana
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libFuzzer's entry point: decode `data` in every role, re-encode what decodes, check the
/// round trip, and never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func bananaFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    FuzzChecks.run(bytes)
    return 0
}

enum FuzzChecks {
    static let smallLimits = BananaLimits(maxPrefixBytes: 64, maxStringBytes: 4096, maxListCount: 4096, maxDepth: 32, maxMessageBytes: 65536)

    static func run(_ bytes: [UInt8]) {
        let afterPB = decoder(after: "pb", limits: smallLimits)
        let afterNone = decoder(after: "none", limits: smallLimits)
        for decoder in [PBFrameDecoder(role: .server, limits: smallLimits), PBFrameDecoder(role: .client, limits: smallLimits), afterPB, afterNone] {
            let whole = decodeAll(bytes, decoder, splitAt: nil)
            let split = decodeAll(bytes, decoder, splitAt: bytes.count / 2)
            // Splitting the input must not change what is decoded (errors compare by kind).
            precondition(whole.frames == split.frames, "split input decoded differently")
            precondition((whole.error == nil) == (split.error == nil), "split input failed differently")
            for frame in whole.frames {
                guard case .message(let message) = frame, let dialect = whole.dialect else { continue }
                checkRoundTrip(message, dialect: dialect)
            }
        }
        var buffer = ByteBuffer(bytes: bytes)
        _ = try? Jelly.decode(from: &buffer, dialect: .pb, limits: smallLimits)
    }

    /// A server decoder that has already received the dialect choice `name`.
    static func decoder(after name: String, limits: BananaLimits) -> PBFrameDecoder {
        var decoder = PBFrameDecoder(role: .server, limits: limits)
        var buffer = ByteBuffer()
        PBEncoder.writeDialectChoice(Array(name.utf8), into: &buffer)
        _ = try? decoder.decodeFrame(from: &buffer)
        return decoder
    }

    static func decodeAll(_ bytes: [UInt8], _ start: PBFrameDecoder, splitAt: Int?) -> (frames: [PBFrame], error: (any Error)?, dialect: PBDialect?) {
        var decoder = start
        var frames: [PBFrame] = []
        var buffer = ByteBuffer(bytes: bytes[..<(splitAt ?? bytes.count)])
        do {
            while let frame = try decoder.decodeFrame(from: &buffer) { frames.append(frame) }
            if let splitAt {
                buffer.writeBytes(bytes[splitAt...])
                while let frame = try decoder.decodeFrame(from: &buffer) { frames.append(frame) }
            }
        } catch {
            return (frames, error, decoder.dialect)
        }
        return (frames, nil, decoder.dialect)
    }

    /// What decodes must re-encode, and decode again to the same message.
    static func checkRoundTrip(_ message: PBMessage, dialect: PBDialect) {
        var encoded = ByteBuffer()
        do {
            try PBEncoder.write(message, dialect: dialect, into: &encoded) { _ in .remote(1) }
        } catch {
            switch message {
            case .undecodableCall, .undecodableAnswer: return
            default: break
            }
            if error is BananaError { return }  // e.g. a decoded list of 655360 items plus its type name
            preconditionFailure("a decoded message failed to encode: \(error)")
        }
        var decoder = decoder(after: dialect == .pb ? "pb" : "none", limits: .twisted)
        guard case .message(let again)? = try? decoder.decodeFrame(from: &encoded) else {
            preconditionFailure("a re-encoded message did not decode")
        }
        precondition(normalized(again) == normalized(message), "a message changed in a round trip: \(message) became \(again)")
    }

    /// Keyword keys are sent as text, so compare them as text.
    static func normalized(_ message: PBMessage) -> PBMessage {
        guard case .call(var call) = message else { return message }
        for index in call.keywords.entries.indices {
            if case .bytes(let bytes) = call.keywords.entries[index].key, let text = String(validating: bytes, as: UTF8.self) {
                call.keywords.entries[index].key = .string(text)
            }
        }
        return .call(call)
    }
}

/// Script mode only (see the top of this file): replays the files named as arguments.
let replayedFiles: Int = {
    var count = 0
    for path in CommandLine.arguments.dropFirst() where !path.hasPrefix("-") {
        guard let file = fopen(path, "rb") else { continue }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let read = fread(&chunk, 1, chunk.count, file)
            if read <= 0 { break }
            bytes += chunk[..<read]
        }
        fclose(file)
        FuzzChecks.run(bytes)
        count += 1
    }
    print("BananaFuzz: replayed \(count) file(s) without a crash")
    return count
}()
