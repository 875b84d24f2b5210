import PBTestSupport
import PerspectiveBroker
import Testing

@Suite("PB login arithmetic")
struct LoginChallengeTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    @Test func responseMatchesTheCapturedTwistedLogin() {
        // M6/M7 of the main capture: the challenge and Twisted's response for b"sesame".
        let challenge = Self.bytes("974e331bbc54f0ad0fedd1e9699a89a2")
        let response = PBLoginChallenge.response(secret: Array("sesame".utf8), challenge: challenge)
        #expect(response == Self.bytes("c782c79787ff2e4742947d95cb904ff4"))
        // M19/M20: the wrong password on the second connection.
        let second = Self.bytes("5e581db666066cb1ae295d716f3549a4")
        #expect(PBLoginChallenge.response(secret: Array("wrong".utf8), challenge: second)
                == Self.bytes("b731c4f3eef9e5eb6caa97ceca303957"))
    }

    @Test func challengesAreSixteenFreshBytes() {
        let first = PBLoginChallenge.makeChallenge(), second = PBLoginChallenge.makeChallenge()
        #expect(first.count == 16 && second.count == 16)
        #expect(first != second)
    }

    @Test func constantTimeComparison() {
        #expect(PBLoginChallenge.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!PBLoginChallenge.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!PBLoginChallenge.constantTimeEquals([1, 2], [1, 2, 3]))
    }
}
