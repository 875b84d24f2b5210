import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

@Suite("PB login arithmetic")
struct LoginChallengeTests {
    @Test func responseMatchesTheCapturedTwistedLogin() {
        // M6/M7 of the main capture: the challenge and Twisted's response for b"sesame".
        let challenge = hexBytes("974e331bbc54f0ad0fedd1e9699a89a2")
        let response = PBLoginChallenge.response(secret: Array("sesame".utf8), challenge: challenge)
        #expect(response == hexBytes("c782c79787ff2e4742947d95cb904ff4"))
        // M19/M20: the wrong password on the second connection.
        let second = hexBytes("5e581db666066cb1ae295d716f3549a4")
        #expect(PBLoginChallenge.response(secret: Array("wrong".utf8), challenge: second)
                == hexBytes("b731c4f3eef9e5eb6caa97ceca303957"))
    }

    @Test func challengesAreSixteenFreshBytes() {
        let first = PBLoginChallenge.makeChallenge(), second = PBLoginChallenge.makeChallenge()
        #expect(first.count == 16 && second.count == 16)
        #expect(first != second)
    }

    @Test func aResponseIsCheckedAgainstTheHashedSecretWithoutCopies() {
        // The captured login again: MD5(b"sesame") is what a master keeps for a cookie.
        let challenge = hexBytes("974e331bbc54f0ad0fedd1e9699a89a2")
        let hashedSecret = hexBytes("c8dae1c50e092f3d877192fc555b1dcf")  // md5(b"sesame")
        let response = hexBytes("c782c79787ff2e4742947d95cb904ff4")
        #expect(PBLoginChallenge.responseMatches(response, hashedSecret: hashedSecret, challenge: challenge))
        var flipped = response
        flipped[15] ^= 1
        #expect(!PBLoginChallenge.responseMatches(flipped, hashedSecret: hashedSecret, challenge: challenge))
        #expect(!PBLoginChallenge.responseMatches(Array(response.prefix(15)), hashedSecret: hashedSecret, challenge: challenge))
        #expect(!PBLoginChallenge.responseMatches(response + [0], hashedSecret: hashedSecret, challenge: challenge))
    }

    @Test func constantTimeComparison() {
        #expect(PBLoginChallenge.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!PBLoginChallenge.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!PBLoginChallenge.constantTimeEquals([1, 2], [1, 2, 3]))
    }
}
