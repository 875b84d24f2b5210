import Banana
import NIOCore
import NIOTestUtils
import TestSupport
import Testing

/// The handshake, message shapes, limits and incremental decoding of `PBFrameDecoder`.
@Suite struct PBFrameDecoderTests {
    static let loginCall = PBCall(requestID: 1, object: .root, method: "login", arguments: [.bytes(Array("alice".utf8))])

    @Test func serverHandshakeThenMessagesInOneRead() throws {
        // What a Twisted client sends in its first segment (M2-M4).
        let wire = hexBytes("02 82 \"pb\"") + hexBytes("02 80 13 87 06 81") + (try messageBytes(.call(Self.loginCall)))
        #expect(Array(wire.suffix(from: 10).prefix(16)) == hexBytes("07 80 1a 87 01 81 04 82 \"root\" 14 87 01 81"))
        var decoder = PBFrameDecoder(role: .server)
        let decoded = try frames(wire, &decoder)
        #expect(decoded == [.dialectChoice(Array("pb".utf8)), .message(.version(6)), .message(.call(Self.loginCall))])
        #expect(decoder.dialect == .pb)
    }

    @Test func clientHandshakePicksTheServersFirstKnownDialect() throws {
        var decoder = PBFrameDecoder(role: .client)
        var offer = ByteBuffer()
        PBEncoder.writeDialectOffer([Array("zz".utf8), Array("none".utf8), Array("pb".utf8)], into: &offer)
        #expect(Array(offer.readableBytesView) == hexBytes("03 80 02 82 \"zz\" 04 82 \"none\" 02 82 \"pb\""))
        #expect(try decoder.decodeFrame(from: &offer) == .dialectOffer([Array("zz".utf8), Array("none".utf8), Array("pb".utf8)]))
        #expect(decoder.dialect == PBDialect.none)
        #expect(PBDialect.choose(from: [Array("pb".utf8), Array("none".utf8)]) == .pb)
        var noCommon = PBFrameDecoder(role: .client)
        #expect(throws: BananaError.self) { try frames(hexBytes("01 80 02 82 \"zz\""), &noCommon) }
    }

    @Test func serverRefusesABadDialectChoice() throws {
        var vocabulary = PBFrameDecoder(role: .server)
        #expect(throws: BananaError.vocabularyNotAllowed) { try frames(hexBytes("1a 87"), &vocabulary) }
        var list = PBFrameDecoder(role: .server)
        #expect(throws: BananaError.self) { try frames(hexBytes("01 80 02 82 \"pb\""), &list) }
        var unknown = PBFrameDecoder(role: .server)
        #expect(throws: BananaError.self) { try frames(hexBytes("03 82 \"xyz\""), &unknown) }
        var notOffered = PBFrameDecoder(role: .server, offeredDialects: [Array("pb".utf8)])
        #expect(throws: BananaError.self) { try frames(hexBytes("04 82 \"none\""), &notOffered) }
    }

    @Test func dialectNoneRefusesVocabulary() throws {
        var decoder = try serverDecoderAfterHandshake(dialect: "none")
        #expect(try frames(try messageBytes(.version(6), dialect: .none), &decoder) == [.message(.version(6))])
        #expect(throws: BananaError.vocabularyNotAllowed) { try frames(hexBytes("02 80 13 87 06 81"), &decoder) }
    }

    @Test func everyMessageKindRoundTrips() throws {
        let messages: [PBMessage] = [
            .version(6),
            .call(PBCall(requestID: 7, object: .luid(2), method: "authenticate_account", answerRequired: false,
                         arguments: ["x", .bytes([1, 2])], keywords: ["via": ["edge1"]])),
            .call(PBCall(requestID: 8, object: .luid(3), method: "update", isCacheMessage: true)),
            .answer(requestID: 3, result: .tuple([.bytes([9]), .remote(1)])),
            .error(requestID: 4, failure: .failure(JellyFailure(type: "a.B", value: "v", parents: ["a.B"]))),
            .decref(luid: 5), .decache(luid: 6), .uncache(luid: 7),
            .didNotUnderstand(command: Array("frobnicate".utf8)),
        ]
        for dialect in [PBDialect.pb, .none] {
            var decoder = try serverDecoderAfterHandshake(dialect: dialect == .pb ? "pb" : "none")
            var wire: [UInt8] = []
            for message in messages { wire += try messageBytes(message, dialect: dialect) }
            #expect(try frames(wire, &decoder) == messages.map { .message($0) })
        }
        #expect(try messageBytes(.decref(luid: 1)) == hexBytes("02 80 1d 87 01 81"))
        #expect(try messageBytes(.version(6)) == hexBytes("02 80 13 87 06 81"))
    }

    @Test func keywordKeysAreSentAsText() throws {
        let call = PBCall(requestID: 1, object: .luid(1), method: "m", keywords: [.bytes(Array("via".utf8)): 1])
        var decoder = try serverDecoderAfterHandshake()
        let decoded = try frames(try messageBytes(.call(call)), &decoder)
        guard case .message(.call(let received)) = decoded.first else { Issue.record("no call"); return }
        #expect(received.keywords.entries.first?.key == .string("via"))
    }

    @Test func insecureArgumentsGiveAnUndecodableCallAndTheStreamContinues() throws {
        // echo(int) from capture X37, then a version message.
        let wire = hexBytes("07 80 1a 87 0f 81 02 81 04 82 \"echo\" 01 81 02 80 0b 87 02 80 02 87 0c 82 \"builtins.int\" 01 80 05 87")
            + hexBytes("02 80 13 87 06 81")
        var decoder = try serverDecoderAfterHandshake()
        #expect(try frames(wire, &decoder) == [
            .message(.undecodableCall(requestID: 15, answerRequired: true, error: .insecure(head: "b'class'"))),
            .message(.version(6)),
        ])
        let badKeywords = hexBytes("07 80 1a 87 03 81 02 81 01 82 \"m\" 00 81 01 80 0b 87 02 80 09 87 00 82")
        #expect(try frames(badKeywords, &decoder) == [
            .message(.undecodableCall(requestID: 3, answerRequired: false, error: .insecure(head: "b'module'"))),
        ])
        let badAnswer = hexBytes("03 80 1b 87 04 81 02 80 02 87 00 82") + hexBytes("02 80 1d 87 01 81")
        #expect(try frames(badAnswer, &decoder) == [
            .message(.undecodableAnswer(requestID: 4, error: .insecure(head: "b'class'"))),
            .message(.decref(luid: 1)),
        ])
    }

    @Test(arguments: [
        ("02 82 \"pb\"", BananaError.nonListMessage),
        ("05 81", BananaError.nonListMessage),
        ("00 80", BananaError.badMessageShape("empty message")),
        ("03 80 13 87 06 81 01 81", BananaError.badMessageShape("version with 2 fields instead of 1")),
        ("02 80 1b 87 01 81", BananaError.badMessageShape("answer with 1 fields instead of 2")),
        ("02 80 04 82 \"frob\" 01 81", BananaError.unknownCommand("b'frob'")),
        ("02 80 14 87 01 81", BananaError.unknownCommand("b'login'")),
        ("02 80 1d 87 01 82 \"x\"", BananaError.badMessageShape("luid is not an integer")),
    ])
    func protocolViolationsThrow(wire: String, error: BananaError) throws {
        var decoder = try serverDecoderAfterHandshake()
        #expect(throws: error) { try frames(hexBytes(wire), &decoder) }
    }

    // MARK: Limits

    @Test func aPrefixOf65BytesIsRefusedBeforeItsTypeByte() throws {
        var decoder = try serverDecoderAfterHandshake()
        #expect(try frames([UInt8](repeating: 1, count: 64), &decoder) == [])
        var longer = try serverDecoderAfterHandshake()
        #expect(throws: BananaError.prefixTooLong(limit: 64)) { try frames([UInt8](repeating: 1, count: 65), &longer) }
    }

    @Test func aStringLongerThan655360IsRefusedAtItsHeader() throws {
        var decoder = try serverDecoderAfterHandshake()
        // [message-like list, STRING of 655361 bytes] with no payload yet.
        let header = hexBytes("03 80 1b 87 01 81 01 00 28 82")  // 655361 = 1 + 40 * 128^2
        #expect(throws: BananaError.stringTooLong(length: 655_361, limit: 655_360)) { try frames(header, &decoder) }
        // Exactly 655360 is accepted (as a jelly value, outside a message).
        let exact = hexBytes("00 00 28 82") + [UInt8](repeating: 0x61, count: 655_360)
        #expect(try decodeJelly(exact).bytesValue?.count == 655_360)
    }

    @Test func aListLongerThan655360IsRefusedAtItsHeader() throws {
        var decoder = try serverDecoderAfterHandshake()
        #expect(throws: BananaError.listTooLong(count: 655_361, limit: 655_360)) { try frames(hexBytes("01 00 28 80"), &decoder) }
        var huge = try serverDecoderAfterHandshake()
        #expect(throws: BananaError.self) { try frames([UInt8](repeating: 0x7f, count: 20) + [0x80], &huge) }
    }

    @Test func nestingDeeperThanTheLimitIsRefused() throws {
        let limits = BananaLimits(maxDepth: 8)
        var decoder = try serverDecoderAfterHandshake(limits: limits)
        let sevenLists: JellyValue = [[[[[[[1]]]]]]]  // the message's own list + 7 jelly lists = depth 8
        let ok = try messageBytes(.answer(requestID: 1, result: sevenLists))
        #expect(try frames(ok, &decoder).count == 1)
        let tooDeep = try messageBytes(.answer(requestID: 1, result: [sevenLists]))
        #expect(throws: BananaError.tooDeep(limit: 8)) { try frames(tooDeep, &decoder) }
        // The default limit (64) refuses an absurdly nested value without recursion trouble.
        var defaults = try serverDecoderAfterHandshake()
        let deep = [UInt8](repeating: 0, count: 0) + Array(repeating: hexBytes("01 80"), count: 100_000).flatMap { $0 }
        #expect(throws: BananaError.tooDeep(limit: 64)) { try frames(deep, &defaults) }
    }

    @Test func aMessageLargerThanTheLimitIsRefused() throws {
        let limits = BananaLimits(maxMessageBytes: 1000)
        var decoder = try serverDecoderAfterHandshake(limits: limits)
        let fits = try messageBytes(.answer(requestID: 1, result: .bytes([UInt8](repeating: 1, count: 900))))
        #expect(try frames(fits, &decoder).count == 1)
        let tooLarge = try messageBytes(.answer(requestID: 1, result: .list(Array(repeating: .bytes([UInt8](repeating: 1, count: 400)), count: 3))))
        // Refused as soon as the third string's header shows the message cannot fit.
        #expect(throws: BananaError.messageTooLarge(limit: 1000)) { try frames(Array(tooLarge.prefix(830)), &decoder) }
        // The default has room for Twisted's 800 KB message made of two 400000-byte strings (A6b).
        var defaults = try serverDecoderAfterHandshake()
        let big = try messageBytes(.answer(requestID: 1, result: .tuple([.bytes([UInt8](repeating: 2, count: 400_000)), .bytes([UInt8](repeating: 3, count: 400_000))])))
        #expect(try frames(big, &defaults).count == 1)
    }

    @Test func sendingRefusesWhatTwistedWouldRefuse() throws {
        #expect(throws: BananaError.stringTooLongToSend(length: 655_361)) {
            try messageBytes(.answer(requestID: 1, result: .bytes([UInt8](repeating: 0, count: 655_361))))
        }
        #expect(throws: BananaError.listTooLongToSend(count: 655_361)) {
            try messageBytes(.answer(requestID: 1, result: .list(Array(repeating: .int(0), count: 655_360))))
        }
        #expect(throws: BananaError.self) { try messageBytes(.undecodableAnswer(requestID: 1, error: .malformed("x"))) }
    }

    // MARK: Incremental decoding

    /// The verifier replays its inputs many times on one decoder, so it gets messages after
    /// the handshake; the handshake itself is covered by `everyTwoPieceSplitOfACapturedStream...`.
    @Test func everySplitOfMessagesDecodesTheSameFrames() throws {
        let messages: [PBMessage] = [
            .version(6),
            .call(Self.loginCall),
            .answer(requestID: 1, result: .tuple([.bytes([UInt8](repeating: 0xab, count: 16)), .remote(1)])),
            .answer(requestID: 2, result: .tuple([.bigInt(BigInteger("-1180591620717411303424")!), 1.5, "é", .none, true])),
            .error(requestID: 3, failure: .failure(JellyFailure(type: "a.B", value: "v", parents: ["a.B", "builtins.object"]))),
            .decref(luid: 1),
        ]
        let pairs = try messages.map { (ByteBuffer(bytes: try messageBytes($0)), [PBFrame.message($0)]) }
        let prepared = try serverDecoderAfterHandshake()
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs, decoderFactory: { prepared })
    }

    @Test func everySplitOfCapturedMessagesDecodesTheSameFrames() throws {
        for path in try CaptureLocation.streams("main") + CaptureLocation.streams("extras") {
            let decoded = try CaptureRoundTripTests.decodeStream(path)
            var prepared = PBFrameDecoder(role: path.hasSuffix(".c2s.bin") ? .server : .client)
            var handshake = decoded[0].original
            _ = try prepared.decodeFrame(from: &handshake)
            let pairs = decoded.dropFirst().map { ($0.original, [$0.frame]) }
            try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: Array(pairs), decoderFactory: { prepared })
        }
    }

    @Test func everyTwoPieceSplitOfACapturedStreamIncludingTheHandshakeDecodesTheSameFrames() throws {
        let path = CaptureLocation.capturesFolder + "/main/conn1.c2s.bin"
        let expected = try CaptureRoundTripTests.decodeStream(path).map(\.frame)
        let stream = Array(try CaptureLocation.bytes(path).readableBytesView)
        for split in 0...stream.count {
            var decoder = PBFrameDecoder(role: .server)
            var buffer = ByteBuffer(bytes: stream[..<split])
            var result: [PBFrame] = []
            while let frame = try decoder.decodeFrame(from: &buffer) { result.append(frame) }
            buffer.writeBytes(stream[split...])
            while let frame = try decoder.decodeFrame(from: &buffer) { result.append(frame) }
            #expect(result == expected, "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }
}

@Suite struct HostileInputTests {
    @Test func depthLimitsAboveTheCeilingAreCapped() throws {
        var decoder = try serverDecoderAfterHandshake(limits: BananaLimits(maxDepth: 1_000_000))
        let deep = Array(repeating: hexBytes("01 80"), count: 5000).flatMap { $0 }
        #expect(throws: BananaError.tooDeep(limit: 1024)) { try frames(deep, &decoder) }
    }

    @Test func aHugeInsecureTypeNameIsCutInTheError() throws {
        let name = [UInt8](repeating: UInt8(ascii: "a"), count: 10_000)
        var value = hexBytes("02 80 10 4e 82") + name + hexBytes("01 81")  // 10000 = 0x10 + 0x4e * 128
        #expect(throws: JellyError.insecure(head: "b'" + String(repeating: "a", count: 200) + "'...")) {
            try decodeJelly(value)
        }
        value = hexBytes("02 80 04 82 \"os.x\" 01 81")
        #expect(throws: JellyError.insecure(head: "b'os.x'")) { try decodeJelly(value) }
    }

    @Test func garbageNeverDecodesSilently() throws {
        // A few classic bad inputs: each either waits for more bytes or throws; none traps.
        let inputs: [[UInt8]] = [
            [0xff], [0x88], [0x00, 0x87], [0x7f, 0x87], hexBytes("02 80 13 87"), [UInt8](repeating: 0x7f, count: 64) + [0x82],
            hexBytes("01 80 01 80 01 80 00 82"), hexBytes("02 80 1b 87 84 00"), hexBytes("03 80 1b 87 01 81 02 80 03 87 05 81"),
        ]
        for input in inputs {
            var decoder = try serverDecoderAfterHandshake()
            var buffer = ByteBuffer(bytes: input)
            do {
                while let frame = try decoder.decodeFrame(from: &buffer) {
                    // Only the dangling dereference input decodes, as an undecodable answer.
                    #expect(frame == .message(.undecodableAnswer(requestID: 1, error: .unknownReference(refid: 5))), "\(input)")
                }
            } catch is BananaError {
                // expected for most inputs
            }
        }
    }
}
