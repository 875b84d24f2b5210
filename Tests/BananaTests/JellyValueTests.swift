import Banana
import NIOCore
import TestSupport
import Testing

/// Every jelly type with the bytes Twisted sends (wire doc 3.1), and the security rules (3.3).
@Suite struct JellyValueTests {
    static let unicodeHead = "02 80 07 82 \"unicode\""

    @Test func containersAndScalarsMatchTwistedsBytes() throws {
        let cases: [(JellyValue, String)] = [
            (.none, "01 80 01 87"),
            (.bool(true), "02 80 07 82 \"boolean\" 04 82 \"true\""),
            (.bool(false), "02 80 07 82 \"boolean\" 05 82 \"false\""),
            (.string("abc"), "02 80 07 82 \"unicode\" 03 82 \"abc\""),
            (.string("é€"), "02 80 07 82 \"unicode\" 05 82 c3 a9 e2 82 ac"),
            (.string(""), "02 80 07 82 \"unicode\" 00 82"),
            (.list([1, 2]), "03 80 08 87 01 81 02 81"),
            (.list([]), "01 80 08 87"),
            (.tuple([1, 2]), "03 80 0b 87 01 81 02 81"),
            (.tuple([]), "01 80 0b 87"),
            (.dictionary(["k": "v"]), "02 80 05 87 02 80 02 80 07 82 \"unicode\" 01 82 \"k\" 02 80 07 82 \"unicode\" 01 82 \"v\""),
            (.dictionary([:]), "01 80 05 87"),
            (.set([1]), "02 80 03 82 \"set\" 01 81"),
            (.frozenSet([2]), "02 80 09 82 \"frozenset\" 02 81"),
            (.remote(2), "02 80 10 87 02 81"),
            (.local(3), "02 80 11 87 03 81"),
            (.unpersistable("instance of class pbdemo.Opaque deemed insecure"), "02 80 0c 87 2f 82 \"instance of class pbdemo.Opaque deemed insecure\""),
        ]
        for (value, wire) in cases {
            #expect(try jellyBytes(value) == hexBytes(wire), "\(value)")
            #expect(try decodeJelly(hexBytes(wire)) == value, "\(value)")
        }
    }

    @Test func nestedValuesRoundTrip() throws {
        let value: JellyValue = .tuple([
            "abc", 12, -5, .bigInt(BigInteger("1180591620717411303424")!), 1.5, .none, true,
            [1, [.bytes([0, 255]), .dictionary(["ключ": .set(["x"]), 3: .frozenSet([])])]],
            .tuple([]), .string("日本語"),
        ])
        #expect(try decodeJelly(try jellyBytes(value)) == value)
        #expect(try decodeJelly(try jellyBytes(value, dialect: .none), dialect: .none) == value)
    }

    @Test func dialectNoneSendsWordsAsStrings() throws {
        #expect(try jellyBytes(.none, dialect: .none) == hexBytes("01 80 04 82 \"None\""))
        #expect(try jellyBytes(.tuple([]), dialect: .none) == hexBytes("01 80 05 82 \"tuple\""))
        #expect(try decodeJelly(hexBytes("01 80 04 82 \"None\""), dialect: .none) == .none)
    }

    @Test func sharedValuesUseReferenceAndDereferenceNumberedBySecondEncounter() throws {
        // echo(x, x, (), ()) with x = [1] (capture X14).
        let x = SharedJellyValue([1])
        let empty = SharedJellyValue(.tuple([]))
        let value: JellyValue = .tuple([.shared(x), .shared(x), .shared(empty), .shared(empty)])
        let wire = hexBytes("05 80 0b 87  03 80 04 87 01 81 02 80 08 87 01 81  02 80 03 87 01 81  03 80 04 87 02 81 01 80 0b 87  02 80 03 87 02 81")
        #expect(try jellyBytes(value) == wire)
        let decoded = try decodeJelly(wire)
        guard case .tuple(let items) = decoded, items.count == 4,
              case .shared(let first) = items[0], case .shared(let second) = items[1]
        else { Issue.record("unexpected shape \(decoded)"); return }
        #expect(first === second)
        #expect(decoded == .tuple([[1], [1], .tuple([]), .tuple([])]))
        // A value shared once only is written plainly.
        #expect(try jellyBytes(.tuple([.shared(x)])) == hexBytes("02 80 0b 87 02 80 08 87 01 81"))
        // The second encounter decides the numbering: y is met twice before x is met again.
        let y = SharedJellyValue(["y"])
        let ordered: JellyValue = .list([.shared(x), .shared(y), .shared(y), .shared(x)])
        let orderedWire = try jellyBytes(ordered)
        #expect(orderedWire.starts(with: hexBytes("05 80 08 87 03 80 04 87 02 81")))  // x gets refid 2
    }

    @Test func cyclicAndDanglingDereferencesAreErrorsNotCrashes() throws {
        // [reference, 1, [list, [dereference, 1]]]: a list containing itself.
        #expect(throws: JellyError.cyclicReference(refid: 1)) {
            try decodeJelly(hexBytes("03 80 04 87 01 81 02 80 08 87 02 80 03 87 01 81"))
        }
        #expect(throws: JellyError.unknownReference(refid: 7)) { try decodeJelly(hexBytes("02 80 03 87 07 81")) }
    }

    @Test(arguments: [
        ("02 80 02 87 0c 82 \"builtins.int\"", "b'class'"),
        ("02 80 09 87 02 82 \"os\"", "b'module'"),
        ("02 80 06 87 00 82", "b'function'"),
        ("01 80 07 87", "b'instance'"),
        ("02 80 09 82 \"os.system\" 00 82", "b'os.system'"),
        ("02 80 0f 87 01 81", "b'cached'"),
        ("02 80 03 82 \"int\" 01 81", "b'int'"),
        ("02 80 05 81 01 81", "5"),
        ("02 80 08 87 02 80 02 87 00 82", "b'class'"),  // nested inside an allowed list
    ])
    func insecureTypesAreRefusedLikeTwisted(wire: String, head: String) throws {
        #expect(throws: JellyError.insecure(head: head)) { try decodeJelly(hexBytes(wire)) }
    }

    @Test func otherAllowedTypesDecodeToUnpersistable() throws {
        #expect(try decodeJelly(hexBytes("02 80 08 82 \"datetime\" 10 82 \"2026 1 2 3 4 5 6\"")) == .unpersistable("datetime 2026 1 2 3 4 5 6"))
        #expect(try decodeJelly(hexBytes("02 80 04 82 \"date\" 08 82 \"2026 1 2\"")) == .unpersistable("date 2026 1 2"))
        #expect(try decodeJelly(hexBytes("02 80 04 82 \"time\" 07 82 \"3 4 5 6\"")) == .unpersistable("time 3 4 5 6"))
        #expect(try decodeJelly(hexBytes("02 80 09 82 \"timedelta\" 05 82 \"1 2 3\"")) == .unpersistable("timedelta 1 2 3"))
        #expect(try decodeJelly(hexBytes("03 80 07 82 \"decimal\" 39 60 83 03 83")) == .unpersistable("decimal -12345 -3"))
        #expect(try decodeJelly(hexBytes("02 80 0a 87 01 81")) == .unpersistable("Persistent callback not found"))
    }

    @Test func malformedJellyIsAnError() throws {
        #expect(throws: JellyError.self) { try decodeJelly(hexBytes("00 80")) }  // empty list
        #expect(throws: JellyError.self) { try decodeJelly(hexBytes("02 80 07 82 \"unicode\" 02 82 c3 28")) }  // bad UTF-8
        #expect(throws: JellyError.self) { try decodeJelly(hexBytes("02 80 07 82 \"boolean\" 03 82 \"yes\"")) }
        #expect(throws: JellyError.self) { try decodeJelly(hexBytes("02 80 05 87 01 81")) }  // dict item not a pair
        #expect(throws: JellyError.self) { try decodeJelly(hexBytes("02 80 10 87 01 82 \"x\"")) }  // remote without int
    }

    @Test func objectsAreSentThroughTheHook() throws {
        let object = TestObject()
        var buffer = ByteBuffer()
        try Jelly.encode(.tuple([.object(object)]), into: &buffer) { received in
            #expect(received === object)
            return .remote(4)
        }
        #expect(Array(buffer.readableBytesView) == hexBytes("02 80 0b 87 02 80 10 87 04 81"))
        var refused = ByteBuffer()
        #expect(throws: JellyError.self) { try Jelly.encode(.object(object), into: &refused) { _ in .int(1) } }
    }

    @Test func accessorsLookThroughSharing() {
        let dictionary: JellyValue = .shared(SharedJellyValue(.dictionary([.bytes(Array("user".utf8)): "alice", "n": 3])))
        #expect(dictionary.dictionaryValue?["user"]?.stringValue == "alice")
        #expect(dictionary.dictionaryValue?["n"]?.intValue == 3)
        #expect(JellyValue.string("é").bytesValue == [0xc3, 0xa9])
        #expect(JellyValue.bytes([0xff]).stringValue == nil)
        #expect(JellyValue.tuple([1]).arrayValue == [1])
        #expect(JellyValue.bool(true).boolValue == true)
        let duplicated = JellyDictionary([(key: "k", value: 1), (key: .bytes(Array("k".utf8)), value: 2)])
        #expect(duplicated["k"] == 2)  // the last pair wins, as in Python
        #expect(duplicated[.string("k")] == 1)
        let object = TestObject()
        #expect(JellyValue.object(object) == .object(object))
        #expect(JellyValue.object(object) != .object(TestObject()))
    }
}

@Suite struct JellyEncoderEdgeTests {
    @Test func sharingIsNumberedPerJellyCallInArgumentsAndKeywords() throws {
        let x = SharedJellyValue(.list([1]))
        let call = PBCall(requestID: 1, object: .luid(1), method: "m",
                          arguments: [.shared(x), .shared(x)], keywords: ["a": .shared(x), "b": .shared(x)])
        let wire = try messageBytes(.call(call))
        // Both the argument tuple and the keyword dict start their refids at 1.
        let reference = hexBytes("03 80 04 87 01 81 02 80 08 87 01 81")
        let dereference = hexBytes("02 80 03 87 01 81")
        let arguments = hexBytes("03 80 0b 87") + reference + dereference
        let keywords = hexBytes("03 80 05 87 02 80 02 80 07 82 \"unicode\" 01 82 \"a\"") + reference
            + hexBytes("02 80 02 80 07 82 \"unicode\" 01 82 \"b\"") + dereference
        #expect(wire == hexBytes("07 80 1a 87 01 81 01 81 01 82 \"m\" 01 81") + arguments + keywords)
    }

    @Test func aFailedEncodingLeavesTheBufferUntouched() throws {
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: BananaError.self) {
            try PBEncoder.write(.answer(requestID: 1, result: .list([1, .bytes([UInt8](repeating: 0, count: 700_000))])),
                                dialect: .pb, into: &buffer) { _ in .remote(1) }
        }
        #expect(Array(buffer.readableBytesView) == [1, 2, 3])
    }

    @Test func invalidUTF8KeywordKeysStayBytes() throws {
        let call = PBCall(requestID: 1, object: .luid(1), method: "m", keywords: [.bytes([0xff]): 1])
        var decoder = try serverDecoderAfterHandshake()
        #expect(try frames(try messageBytes(.call(call)), &decoder) == [.message(.call(call))])
    }
}
