import Crypto

/// PB's MD5 challenge-response (perspective-broker-wire.md section 5.2):
/// the client answers `MD5(MD5(secret) || challenge)`, so a checker needs only
/// the password-equivalent verifier `MD5(secret)`.
enum ChallengeResponse {
    /// The verifier of `secret`: its raw 16-byte MD5 digest.
    static func verifier(of secret: [UInt8]) -> [UInt8] {
        Array(Insecure.MD5.hash(data: secret))
    }

    /// The response a client holding `verifier`'s secret sends for `challenge`.
    static func expectedResponse(verifier: [UInt8], challenge: [UInt8]) -> [UInt8] {
        var hash = Insecure.MD5()
        hash.update(data: verifier)
        hash.update(data: challenge)
        return Array(hash.finalize())
    }

    /// Whether `response` answers `challenge` for `verifier`, compared in constant time.
    static func matches(verifier: [UInt8], challenge: [UInt8], response: [UInt8]) -> Bool {
        constantTimeEquals(expectedResponse(verifier: verifier, challenge: challenge), response)
    }

    /// Compares two byte strings without an early exit on the first difference.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
