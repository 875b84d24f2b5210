@testable import AccountStore
import Foundation
import TestSupport
import Testing

@Suite struct PasswordHashTests {
    let small = ScryptParameters(logN: 4, r: 8, p: 1)

    @Test func aPHCStringRoundTrips() throws {
        let hash = try PasswordHash.make(password: Array("correct horse".utf8), parameters: small)
        let text = hash.phcString
        #expect(text.hasPrefix("$scrypt$ln=4,r=8,p=1$"))
        #expect(!text.contains("=".appending("$")))
        let parsed = try #require(PasswordHash(phcString: text))
        #expect(parsed == hash)
        #expect(try parsed.matches(password: Array("correct horse".utf8)))
        #expect(try !parsed.matches(password: Array("correct horsf".utf8)))
        #expect(try !parsed.matches(password: Array("correct horse ".utf8)))
    }

    @Test func theSamePasswordGetsDifferentSalts() throws {
        let a = try PasswordHash.make(password: Array("pw".utf8), parameters: small)
        let b = try PasswordHash.make(password: Array("pw".utf8), parameters: small)
        #expect(a.salt != b.salt)
        #expect(a.hash != b.hash)
    }

    @Test(arguments: [
        "", "$scrypt$", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "$scrypt$ln=17,r=8$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=40,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=17,r=8,p=1$c2FsdHNhbHQ$c2hvcnQ",
    ])
    func malformedOrOutOfBoundsHashesAreRejected(text: String) {
        #expect(PasswordHash(phcString: text) == nil)
    }

    // A hash at the default parameters takes over 2 s in a debug build on a busy
    // machine, so it is exercised by `pbauth-bench store` (release), not here.
    @Test func defaultParametersAreOWASPs() {
        #expect(ScryptParameters.default == ScryptParameters(logN: 17, r: 8, p: 1))
        #expect(StoreConfiguration().scrypt == .default)
        #expect(ScryptParameters.default.isValid)
        #expect(!ScryptParameters(logN: 23, r: 8, p: 1).isValid)
    }

    @Test func aKnownVectorOfRFC7914Matches() throws {
        // RFC 7914 section 12, second vector: P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64.
        // Our hashes are 32 bytes, which are the first 32 of scrypt's output.
        let expectedPrefix = "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
        let hash = PasswordHash(parameters: ScryptParameters(logN: 10, r: 8, p: 16), salt: Array("NaCl".utf8),
                                hash: hexBytes(expectedPrefix))
        #expect(try hash.matches(password: Array("password".utf8)))
    }

    @Test func constantTimeEqualsComparesWholeValues() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(constantTimeEquals([UInt8](), [UInt8]()))
    }
}

