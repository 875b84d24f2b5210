import Crypto

/// The arithmetic of PB's challenge-response login (`IUsernameHashedPassword` over MD5).
public enum PBLoginChallenge {
    /// A fresh 16-byte challenge from BoringSSL's CSPRNG (seeded by the kernel).
    ///
    /// Not `UInt8.random(using: SystemRandomNumberGenerator)` per byte: that made one
    /// `getrandom` system call per byte, 16 for every login.
    public static func makeChallenge() -> [UInt8] {
        SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }
    }

    /// The response a client sends: MD5(MD5(secret) || challenge), raw 16-byte digests.
    public static func response(secret: [UInt8], challenge: [UInt8]) -> [UInt8] {
        let hashedSecret = Insecure.MD5.hash(data: secret)
        return response(hashedSecret: Array(hashedSecret), challenge: challenge)
    }

    /// The response computed from an already hashed secret: MD5(hashedSecret || challenge).
    public static func response(hashedSecret: [UInt8], challenge: [UInt8]) -> [UInt8] {
        // One contiguous buffer through the raw-pointer entry point: the generic
        // DataProtocol path cost more than the 32 bytes of hashing (a master runs
        // this once per live session on every cookie check).
        var input = hashedSecret
        input.append(contentsOf: challenge)
        var md5 = Insecure.MD5()
        input.withUnsafeBytes { md5.update(bufferPointer: $0) }
        return md5.finalize().withUnsafeBytes { Array($0) }
    }

    /// Whether `response` is MD5(hashedSecret || challenge), compared in constant time.
    /// The same as comparing with `response(hashedSecret:challenge:)`, without its
    /// intermediate arrays: a master runs this for each live session on every cookie check.
    public static func responseMatches(_ response: [UInt8], hashedSecret: [UInt8], challenge: [UInt8]) -> Bool {
        var md5 = Insecure.MD5()
        hashedSecret.withUnsafeBytes { md5.update(bufferPointer: $0) }
        challenge.withUnsafeBytes { md5.update(bufferPointer: $0) }
        return md5.finalize().withUnsafeBytes { constantTimeEquals(response, $0) }
    }

    /// Whether `response` equals `expected`, in time that does not depend on where they differ.
    public static func constantTimeEquals(_ response: some Collection<UInt8>, _ expected: some Collection<UInt8>) -> Bool {
        guard response.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (byte, other) in zip(response, expected) { difference |= byte ^ other }
        return difference == 0
    }
}
