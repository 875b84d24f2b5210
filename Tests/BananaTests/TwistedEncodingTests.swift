import Banana
import NIOCore
import TestSupport
import Testing

/// Our encoder against Twisted's own: each expected hex string is what
/// `banana.sendEncoded(jelly.jelly(value))` wrote in Twisted 26.10.0 (dialect pb unless
/// stated), generated in-process with /work/venv-twisted for the Python value in the comment.
@Suite struct TwistedEncodingTests {
    static let largest = BigInteger("726838724295606890549323807888004534353641360687318060281490199180639288113397923326191050713763565560762521606266177933534601628614655")!

    /// `("tuple", b"None", "None", {"a": [x, x]}, {1, 2}, 2**448-1, -2**100, nan, -0.0, True, None, "é")` with `x = [1]`.
    static func mixed() -> JellyValue {
        let x = SharedJellyValue([1])
        return .tuple([
            "tuple", .bytes(Array("None".utf8)), "None", .dictionary(["a": [.shared(x), .shared(x)]]), .set([1, 2]),
            .bigInt(largest), .bigInt(BigInteger("-1267650600228229401496703205376")!), .float(.nan), .float(-0.0), true, .none, "é",
        ])
    }

    @Test func mixedValuesMatchTwisted() throws {
        let twisted = "0d800b8702800782756e69636f64650b87018702800782756e69636f6465018702800587028002800782756e69636f64650182610380088703800487018102800887018102800387018103800382736574018102817f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f8500000000000000000000000000000486847ff800000000000084800000000000000002800782626f6f6c65616e0482747275650180018702800782756e69636f64650282c3a9"
        #expect(try jellyBytes(Self.mixed()) == hexBytes(twisted))
        #expect(try decodeJelly(hexBytes(twisted)) == Self.mixed())
    }

    @Test func mixedValuesMatchTwistedInDialectNone() throws {
        let twisted = "0d8005827475706c6502800782756e69636f646505827475706c6504824e6f6e6502800782756e69636f646504824e6f6e6502800a8264696374696f6e617279028002800782756e69636f6465018261038004826c697374038009827265666572656e63650181028004826c697374018102800b8264657265666572656e6365018103800382736574018102817f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f8500000000000000000000000000000486847ff800000000000084800000000000000002800782626f6f6c65616e048274727565018004824e6f6e6502800782756e69636f64650282c3a9"
        #expect(try jellyBytes(Self.mixed(), dialect: .none) == hexBytes(twisted))
        #expect(try decodeJelly(hexBytes(twisted), dialect: .none) == Self.mixed())
    }

    /// `[d, d, x, (x,), t, t]` with `x = [1]`, `d = {"k": x}`, `t = ()`: refids by second encounter.
    @Test func nestedSharingMatchesTwisted() throws {
        let x = SharedJellyValue([1])
        let d = SharedJellyValue(.dictionary(["k": .shared(x)]))
        let t = SharedJellyValue(.tuple([]))
        let value: JellyValue = [.shared(d), .shared(d), .shared(x), .tuple([.shared(x)]), .shared(t), .shared(t)]
        let twisted = "0780088703800487018102800587028002800782756e69636f646501826b03800487028102800887018102800387018102800387028102800b8702800387028103800487038101800b87028003870381"
        #expect(try jellyBytes(value) == hexBytes(twisted))
        let decoded = try decodeJelly(hexBytes(twisted))
        #expect(decoded == value)
        #expect(try jellyBytes(decoded) == hexBytes(twisted))
    }

    /// `{b"message": "answer", "login": [b"decref", "version"]}`.
    @Test func vocabularyWordsAnywhereMatchTwisted() throws {
        let value: JellyValue = .dictionary([.bytes(Array("message".utf8)): "answer", "login": [.bytes(Array("decref".utf8)), "version"]])
        let twisted = "0380058702801a8702800782756e69636f64651b87028002800782756e69636f64651487038008871d8702800782756e69636f64651387"
        #expect(try jellyBytes(value) == hexBytes(twisted))
        #expect(try decodeJelly(hexBytes(twisted)) == value)
    }

    /// `[0, 1, -1, 2**31-1, 2**31, -2**31, -2**31-1, 2**63-1, 2**63, -2**63, -2**63-1, 2**64]`.
    @Test func integerBoundariesMatchTwisted() throws {
        let value: JellyValue = [0, 1, -1, 2_147_483_647, 2_147_483_648, -2_147_483_648, -2_147_483_649, .int(Int.max),
                                 .bigInt(BigInteger("9223372036854775808")!), .int(Int.min),
                                 .bigInt(BigInteger("-9223372036854775809")!), .bigInt(BigInteger("18446744073709551616")!)]
        let twisted = "0d8008870081018101837f7f7f7f07810000000008850000000008830100000008867f7f7f7f7f7f7f7f7f850000000000000000000185000000000000000000018601000000000000000001860000000000000000000285"
        #expect(try jellyBytes(value) == hexBytes(twisted))
        #expect(try decodeJelly(hexBytes(twisted)) == value)
    }

    /// `[1.5, inf, -inf, 1e308, 5e-324]`, `[set(), frozenset(), {"a"}, frozenset([b"b"])]`, `[(), [], {}, "", b""]`.
    @Test func floatsSetsAndEmptiesMatchTwisted() throws {
        let floats: JellyValue = [1.5, .float(.infinity), .float(-.infinity), 1e308, .float(.leastNonzeroMagnitude)]
        #expect(try jellyBytes(floats) == hexBytes("06800887843ff8000000000000847ff000000000000084fff0000000000000847fe1ccf385ebc8a0840000000000000001"))
        let sets: JellyValue = [.set([]), .frozenSet([]), .set(["a"]), .frozenSet([.bytes(Array("b".utf8))])]
        #expect(try jellyBytes(sets) == hexBytes("05800887018003827365740180098266726f7a656e7365740280038273657402800782756e69636f64650182610280098266726f7a656e736574018262"))
        let empties: JellyValue = [.tuple([]), [], .dictionary([:]), "", .bytes([])]
        #expect(try jellyBytes(empties) == hexBytes("0680088701800b87018008870180058702800782756e69636f646500820082"))
        for value in [floats, sets, empties] {
            #expect(try decodeJelly(try jellyBytes(value)) == value)
        }
    }
}
