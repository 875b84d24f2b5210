import Foundation
import Testing

@testable import AccountStore

@Suite("base64url")
struct Base64URLTests {
    @Test func matchesFoundationsEncodingWithTheURLAlphabetAndNoPadding() {
        for length in 0...48 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Base64Text.url(bytes) == expected, "length \(length)")
        }
        #expect(Base64Text.url([0xfb, 0xff]) == "-_8")
    }
}
