import Banana
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `pbauth-bench codec [--iterations N] [--only NAME-PREFIX]`: Banana/jelly speed on one core.
///
/// One operation = what both ends of an `authenticate_account` exchange do with the codec:
/// encode the call, decode it, encode the status answer, decode it. Also printed: the
/// server's half (decode call + encode answer) and each step alone.
enum CodecBenchmark {
    static func run(iterations: Int, only: String?) throws {
        let challenge = JellyValue.bytes((0..<16).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        let response = JellyValue.bytes((0..<16).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 7) })
        let call = PBMessage.call(PBCall(
            requestID: 41, object: .luid(2), method: "authenticate_account", answerRequired: true,
            arguments: [.bytes(Array("alice".utf8)), challenge, response], keywords: ["via": ["edge1"]]))
        let answer = PBMessage.answer(requestID: 41, result: .dictionary([
            "username": "alice", "kind": "user", "master": "master-1",
            "session": .bytes((0..<16).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }), "expires": 1_795_948_205,
        ]))
        let noObjects: (any JellyObject) throws -> JellyValue = { _ in throw JellyError.unencodableObject("none") }

        var callBuffer = ByteBuffer()
        try PBEncoder.write(call, dialect: .pb, into: &callBuffer, objects: noObjects)
        var answerBuffer = ByteBuffer()
        try PBEncoder.write(answer, dialect: .pb, into: &answerBuffer, objects: noObjects)
        print("codec: call \(callBuffer.readableBytes) bytes, answer \(answerBuffer.readableBytes) bytes, \(iterations) iterations")

        var decoder = PBFrameDecoder(role: .server)
        var choice = ByteBuffer()
        PBEncoder.writeDialectChoice(Array("pb".utf8), into: &choice)
        _ = try decoder.decodeFrame(from: &choice)
        // The loop state travels inout (not captured by closures), so the measured code pays
        // no closure-box exclusivity checks.
        var state = State(decoder: decoder, call: call, answer: answer, callBytes: callBuffer, answerBytes: answerBuffer, only: only)

        try measure("full exchange (encode+decode call, encode+decode answer)", iterations, &state) { state in
            state.scratch.clear()
            try PBEncoder.write(state.call, dialect: .pb, into: &state.scratch, objects: noObjects)
            try state.decode(state.scratch)
            state.scratch.clear()
            try PBEncoder.write(state.answer, dialect: .pb, into: &state.scratch, objects: noObjects)
            try state.decode(state.scratch)
        }
        try measure("server half (decode call + encode answer)", iterations, &state) { state in
            try state.decode(state.callBytes)
            state.scratch.clear()
            try PBEncoder.write(state.answer, dialect: .pb, into: &state.scratch, objects: noObjects)
        }
        try measure("decode call", iterations, &state) { state in try state.decode(state.callBytes) }
        try measure("encode call", iterations, &state) { state in
            state.scratch.clear()
            try PBEncoder.write(state.call, dialect: .pb, into: &state.scratch, objects: noObjects)
        }
        try measure("decode answer", iterations, &state) { state in try state.decode(state.answerBytes) }
        try measure("encode answer", iterations, &state) { state in
            state.scratch.clear()
            try PBEncoder.write(state.answer, dialect: .pb, into: &state.scratch, objects: noObjects)
        }
        print("  (checksum \(state.checksum))")
    }

    /// CPU time of this thread: unlike wall time, not inflated when other processes share the
    /// core, so the figure is what one core does.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    struct State {
        var decoder: PBFrameDecoder
        let call: PBMessage
        let answer: PBMessage
        let callBytes: ByteBuffer
        let answerBytes: ByteBuffer
        let only: String?
        var scratch = ByteBuffer()
        var checksum = 0

        mutating func decode(_ bytes: ByteBuffer) throws {
            var input = bytes
            if case .message(let message)? = try decoder.decodeFrame(from: &input) {
                if case .call(let decoded) = message { checksum &+= decoded.arguments.count }
                if case .answer(let id, _) = message { checksum &+= id }
            }
        }
    }

    static func measure(_ name: String, _ iterations: Int, _ state: inout State, _ body: (inout State) throws -> Void) rethrows {
        if let only = state.only, !name.hasPrefix(only) { return }
        for _ in 0..<(iterations / 10) { try body(&state) }  // warm up
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = threadCPUSeconds()
        for _ in 0..<iterations { try body(&state) }
        let cpuSeconds = threadCPUSeconds() - cpuStart
        let elapsed = clock.now - start
        let wallSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let perCPUSecond = Double(iterations) / cpuSeconds
        print("  \(name): \(Int(perCPUSecond)) per CPU second (\(Int(cpuSeconds * 1e9 / Double(iterations))) ns each; "
              + "\(Int(Double(iterations) / wallSeconds)) per wall-clock second)")
    }
}
