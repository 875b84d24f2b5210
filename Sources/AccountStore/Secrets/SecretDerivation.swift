import Crypto
import Foundation

/// Everything derived from the server key: cookies, broker tokens, their MD5
/// verifiers for PB's challenge, the sealing of PB password verifiers, and the
/// key's fingerprint that ties a key file to its database.
struct SecretDerivation {
    private let key: SymmetricKey
    private let sealingKey: SymmetricKey

    init(serverKey: ServerKey) {
        key = serverKey.key
        sealingKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: serverKey.key,
            info: Array("pbauth-pb-verifier-seal-v1".utf8),
            outputByteCount: 32)
    }

    private func mac(_ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
    }

    /// The cookie of a session: base64url(HMAC-SHA256(key, "pbauth-cookie-v1:" + id)).
    func cookie(sessionID: String) -> String {
        Base64Text.url(mac("pbauth-cookie-v1:" + sessionID))
    }

    /// A broker principal's token, from its name and its stored salt.
    func brokerToken(name: String, salt: [UInt8]) -> String {
        Base64Text.url(mac("pbauth-token-v1:" + name + ":" + hexString(salt)))
    }

    /// A value stored in the database that proves which key file belongs to it,
    /// without revealing anything about the key.
    var fingerprint: String { hexString(mac("pbauth-key-fingerprint-v1")) }

    /// md5(secret), what PB's challenge-response is checked against.
    static func md5(_ secret: [UInt8]) -> [UInt8] {
        Array(Insecure.MD5.hash(data: secret))
    }

    /// Seals a PB password verifier for account `accountID` (bound to it, so a
    /// sealed value copied to another account does not open).
    func seal(verifier: [UInt8], accountID: Int64) throws -> [UInt8] {
        let box = try AES.GCM.seal(verifier, using: sealingKey, authenticating: Array("account:\(accountID)".utf8))
        guard let combined = box.combined else { throw StoreError.internalFailure("AES-GCM produced no combined box") }
        return Array(combined)
    }

    /// Opens a sealed verifier; nil when it was sealed with another key or for another account.
    func open(sealed: [UInt8], accountID: Int64) -> [UInt8]? {
        guard let box = try? AES.GCM.SealedBox(combined: sealed),
              let plain = try? AES.GCM.open(box, using: sealingKey, authenticating: Array("account:\(accountID)".utf8))
        else { return nil }
        return Array(plain)
    }
}
