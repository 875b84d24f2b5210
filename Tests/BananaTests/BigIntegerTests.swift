import Banana
import Testing

@Suite struct BigIntegerTests {
    @Test(arguments: ["0", "1", "-1", "4294967296", "-18446744073709551616", "1180591620717411303424",
                      "-1180591620717411303424", "1000000000000000000000000000", "9223372036854775808"])
    func decimalTextRoundTrips(text: String) {
        #expect(BigInteger(text)?.description == text)
    }

    @Test func intConversions() {
        #expect(BigInteger(Int.min).description == "-9223372036854775808")
        #expect(BigInteger(Int.min).intValue == Int.min)
        #expect(BigInteger(Int.max).intValue == Int.max)
        #expect(BigInteger("9223372036854775808")?.intValue == nil)
        #expect(BigInteger("-0") == BigInteger(0))
        #expect(BigInteger("-0")?.isNegative == false)
        #expect(BigInteger("-5")?.isNegative == true)
        #expect(BigInteger("+12")?.description == "12")
    }

    @Test(arguments: ["", "-", "12a", " 1", "1.5"])
    func invalidTextIsRefused(text: String) {
        #expect(BigInteger(text) == nil)
    }
}
