import Banana
import NIOCore
import TestSupport
import Testing

/// Integers, floats and byte strings: Twisted's exact element choices (wire doc 2.1).
@Suite struct BananaAtomTests {
    @Test(arguments: [
        (0, "00 81"), (1, "01 81"), (12, "0c 81"), (127, "7f 81"), (128, "00 01 81"), (4674, "42 24 81"),
        (2_147_483_647, "7f 7f 7f 7f 07 81"), (2_147_483_648, "00 00 00 00 08 85"),
        (-1, "01 83"), (-5, "05 83"), (-2_147_483_648, "00 00 00 00 08 83"), (-2_147_483_649, "01 00 00 00 08 86"),
        (Int.max, "7f 7f 7f 7f 7f 7f 7f 7f 7f 85"), (Int.min, "00 00 00 00 00 00 00 00 00 01 86"),
    ])
    func integersUseTwistedsElementKinds(value: Int, wire: String) throws {
        #expect(try jellyBytes(.int(value)) == hexBytes(wire))
        #expect(try decodeJelly(hexBytes(wire)) == .int(value))
    }

    @Test func bigIntegersRoundTrip() throws {
        let twoTo70 = BigInteger("1180591620717411303424")!
        #expect(try jellyBytes(.bigInt(twoTo70)) == hexBytes("00 00 00 00 00 00 00 00 00 00 01 85"))
        #expect(try decodeJelly(hexBytes("00 00 00 00 00 00 00 00 00 00 01 85")) == .bigInt(twoTo70))
        let twoTo100 = BigInteger("1267650600228229401496703205376")!
        #expect(try jellyBytes(.bigInt(twoTo100)) == hexBytes("00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 85"))
        let minusTwoTo100 = BigInteger("-1267650600228229401496703205376")!
        #expect(try jellyBytes(.bigInt(minusTwoTo100)) == hexBytes("00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 86"))
        #expect(try decodeJelly(try jellyBytes(.bigInt(minusTwoTo100))) == .bigInt(minusTwoTo100))
    }

    @Test func theLargestSendableIntegerIsTwoTo448MinusOne() throws {
        let largest = BigInteger("726838724295606890549323807888004534353641360687318060281490199180639288113397923326191050713763565560762521606266177933534601628614655")!
        let wire = try jellyBytes(.bigInt(largest))
        #expect(wire == [UInt8](repeating: 0x7f, count: 64) + [0x85])
        #expect(try decodeJelly(wire) == .bigInt(largest))
        let negative = BigInteger("-" + largest.description)!
        #expect(try decodeJelly(try jellyBytes(.bigInt(negative))) == .bigInt(negative))
        let tooLarge = BigInteger("726838724295606890549323807888004534353641360687318060281490199180639288113397923326191050713763565560762521606266177933534601628614656")!
        #expect(throws: BananaError.integerTooLargeToSend) { try jellyBytes(.bigInt(tooLarge)) }
    }

    @Test func decodedIntegersAreNormalized() throws {
        // A LONGINT that fits, a non-minimal prefix, and an INT beyond 2^31 all decode to `.int`.
        #expect(try decodeJelly(hexBytes("05 00 00 85")) == .int(5))
        #expect(try decodeJelly(hexBytes("05 00 00 00 00 00 00 00 00 00 00 81")) == .int(5))
        if case .int = try decodeJelly(hexBytes("00 00 00 00 08 81")) {} else { Issue.record("2^31 as INT did not decode to .int") }
        if case .bigInt = try decodeJelly(hexBytes("00 00 00 00 00 00 00 00 00 02 85")) {} else { Issue.record("2^64 did not decode to .bigInt") }
    }

    @Test func floatsAreBigEndianWithoutPrefix() throws {
        #expect(try jellyBytes(.float(1.5)) == hexBytes("84 3f f8 00 00 00 00 00 00"))
        #expect(try jellyBytes(.float(-0.0)) == hexBytes("84 80 00 00 00 00 00 00 00"))
        #expect(try jellyBytes(.float(.infinity)) == hexBytes("84 7f f0 00 00 00 00 00 00"))
        #expect(try jellyBytes(.float(-.infinity)) == hexBytes("84 ff f0 00 00 00 00 00 00"))
        let negativeZero = try decodeJelly(hexBytes("84 80 00 00 00 00 00 00 00"))
        guard case .float(let zero) = negativeZero else { Issue.record("not a float"); return }
        #expect(zero == 0 && zero.sign == .minus)
        guard case .float(let nan) = try decodeJelly(try jellyBytes(.float(.nan))) else { Issue.record("not a float"); return }
        #expect(nan.isNaN)
        // Twisted ignores prefix digits before a FLOAT type byte.
        #expect(try decodeJelly(hexBytes("05 84 3f f8 00 00 00 00 00 00")) == .float(1.5))
    }

    @Test func byteStringsAreBareStringsAndVocabularyWordsAreTokens() throws {
        #expect(try jellyBytes(.bytes([])) == hexBytes("00 82"))
        #expect(try jellyBytes(.bytes(Array("hello".utf8))) == hexBytes("05 82 \"hello\""))
        #expect(try jellyBytes(.bytes(Array("None".utf8))) == hexBytes("01 87"))
        #expect(try jellyBytes(.bytes(Array("message".utf8))) == hexBytes("1a 87"))
        #expect(try jellyBytes(.bytes(Array("message".utf8)), dialect: .none) == hexBytes("07 82 \"message\""))
        #expect(try jellyBytes(.bytes(Array("root".utf8))) == hexBytes("04 82 \"root\""))
        #expect(try decodeJelly(hexBytes("1a 87")) == .bytes(Array("message".utf8)))
    }

    @Test func everyVocabularyWordIsSentAsItsTokenAndDecodedBack() throws {
        let words = ["None", "class", "dereference", "reference", "dictionary", "function", "instance", "list",
                     "module", "persistent", "tuple", "unpersistable", "copy", "cache", "cached", "remote", "local",
                     "lcache", "version", "login", "password", "challenge", "logged_in", "not_logged_in",
                     "cachemessage", "message", "answer", "error", "decref", "decache", "uncache"]
        for (offset, word) in words.enumerated() {
            let index = UInt8(offset + 1)
            #expect(try jellyBytes(.bytes(Array(word.utf8))) == [index, 0x87], "\(word)")
            #expect(try jellyBytes(.string(word)) == hexBytes("02 80 07 82 \"unicode\"") + [index, 0x87], "\(word)")
            #expect(try decodeJelly([index, 0x87]) == .bytes(Array(word.utf8)))
            #expect(try decodeJelly(hexBytes("02 80 07 82 \"unicode\"") + [index, 0x87]) == .string(word), "\(word)")
        }
        for notAWord in ["root", "respond", "echo", "unicode", "boolean", "true", "false", "set", "frozenset", "Non", "Nonee", "didNotUnderstand"] {
            #expect(try jellyBytes(.bytes(Array(notAWord.utf8))) == [UInt8(notAWord.utf8.count), 0x82] + Array(notAWord.utf8))
        }
    }

    @Test func vocabularyIsRefusedOutsideDialectPB() throws {
        #expect(throws: BananaError.vocabularyNotAllowed) { try decodeJelly(hexBytes("1a 87"), dialect: .none) }
        #expect(throws: BananaError.unknownVocabulary(index: 40)) { try decodeJelly(hexBytes("28 87")) }
        #expect(throws: BananaError.unknownVocabulary(index: 0)) { try decodeJelly(hexBytes("00 87")) }
    }

    @Test func otherTypeBytesAreRefused() throws {
        #expect(throws: BananaError.invalidTypeByte(0x88)) { try decodeJelly(hexBytes("01 88")) }
        #expect(throws: BananaError.invalidTypeByte(0xff)) { try decodeJelly(hexBytes("ff")) }
    }
}
