import Banana
import NIOCore
import Testing

/// Decodes every byte Twisted sent in the captures and re-encodes each message.
@Suite struct CaptureRoundTripTests {
    struct DecodedFrame {
        var frame: PBFrame
        var original: ByteBuffer
    }

    /// Splits one captured stream into frames, keeping the bytes of each.
    static func decodeStream(_ path: String) throws -> [DecodedFrame] {
        var buffer = try CaptureLocation.bytes(path)
        let role: PBRole = path.hasSuffix(".c2s.bin") ? .server : .client
        var decoder = PBFrameDecoder(role: role)
        var frames: [DecodedFrame] = []
        while buffer.readableBytes > 0 {
            let before = buffer
            guard let frame = try decoder.decodeFrame(from: &buffer) else {
                Issue.record("\(path): \(buffer.readableBytes) trailing bytes do not form a frame")
                break
            }
            let consumed = before.readableBytes - buffer.readableBytes
            frames.append(DecodedFrame(frame: frame, original: before.getSlice(at: before.readerIndex, length: consumed)!))
        }
        return frames
    }

    static func reencode(_ frame: PBFrame, dialect: PBDialect) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        switch frame {
        case .dialectOffer(let offer): PBEncoder.writeDialectOffer(offer, into: &buffer)
        case .dialectChoice(let choice): PBEncoder.writeDialectChoice(choice, into: &buffer)
        case .message(let message):
            try PBEncoder.write(message, dialect: dialect, into: &buffer) { _ in
                throw JellyError.unencodableObject("captures hold no local objects")
            }
        }
        return buffer
    }

    static func hex(_ buffer: ByteBuffer) -> String {
        buffer.readableBytesView.map { String(format: "%02x", $0) }.joined(separator: " ")
    }

    /// Every message of both scenarios is re-encoded, and every one comes out byte-identical,
    /// extras included: the failures whose `count` and `_frames` (file paths, line numbers)
    /// vary between runs are re-encoded from the state dictionary they arrived with, so what
    /// Twisted sent is what we send back. The one exception is the extras' InsecureJelly
    /// probe (X37, `echo(int)` sending `[V:class, b'builtins.int']`): it decodes, by design,
    /// to `.undecodableCall`, which has no wire form.
    @Test(arguments: [("main", 0), ("extras", 1)])
    func everyCapturedStreamDecodesAndReencodesIdentically(scenario: String, insecureCalls: Int) throws {
        let streams = try CaptureLocation.streams(scenario)
        #expect(streams.count >= 4, "captures not found in \(CaptureLocation.capturesFolder)")
        var messageCount = 0
        var undecodableCalls = 0
        for path in streams {
            let frames = try Self.decodeStream(path)
            #expect(frames.count >= 2, "\(path) decoded to too few frames")
            for decoded in frames {
                if case .message(let message) = decoded.frame {
                    messageCount += 1
                    if case .undecodableCall(_, _, let error) = message {
                        #expect(error == .insecure(head: "b'class'"))
                        undecodableCalls += 1
                        continue
                    }
                    if case .undecodableAnswer = message { Issue.record("\(path): Twisted's answer did not decode"); continue }
                }
                let again = try Self.reencode(decoded.frame, dialect: .pb)
                #expect(again == decoded.original, "\(path): re-encoding differs\n twisted: \(Self.hex(decoded.original))\n ours:    \(Self.hex(again))")
            }
        }
        #expect(messageCount > 10)
        #expect(undecodableCalls == insecureCalls)
    }

    @Test func capturedValuesDecodeToWhatTwistedMeant() throws {
        // M10: echo('abc', 12, -5, 2**70, 1.5, None, True, [1,2], {'k':'v'}, (1,2)).
        let frames = try Self.decodeStream(CaptureLocation.capturesFolder + "/main/conn1.c2s.bin").map(\.frame)
        let echo = frames.compactMap { frame -> PBCall? in
            if case .message(.call(let call)) = frame, call.method == "echo" { return call }
            return nil
        }.first
        #expect(echo?.arguments == ["abc", 12, -5, .bigInt(BigInteger("1180591620717411303424")!), 1.5, .none, true,
                                    [1, 2], .dictionary(["k": "v"]), .tuple([1, 2])])
        #expect(echo?.object == .luid(2))
        // M13: the failure of fail(), and the UnauthorizedLogin of conn 2.
        let answers = try Self.decodeStream(CaptureLocation.capturesFolder + "/main/conn1.s2c.bin").map(\.frame)
        let failure = answers.compactMap { frame -> JellyFailure? in
            if case .message(.error(_, let payload)) = frame { return payload.failureValue }
            return nil
        }.first
        #expect(failure?.type == "pbdemo.EchoFailure")
        #expect(failure?.value == "deliberate failure from perspective_fail")
        #expect(failure?.check("builtins.Exception") == true)
        let login = try Self.decodeStream(CaptureLocation.capturesFolder + "/main/conn2.s2c.bin").map(\.frame)
        let unauthorized = login.compactMap { frame -> JellyFailure? in
            if case .message(.error(_, let payload)) = frame { return payload.failureValue }
            return nil
        }.first
        #expect(unauthorized?.check("twisted.cred.error.UnauthorizedLogin") == true)
        #expect(unauthorized?.traceback == "Traceback unavailable\n")
    }
}
