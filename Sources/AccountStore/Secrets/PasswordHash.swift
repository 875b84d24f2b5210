import Crypto
import _CryptoExtras

/// A password hashed with scrypt, as a PHC string:
/// `$scrypt$ln=17,r=8,p=1$<salt base64>$<hash base64>` (standard base64 without padding).
struct PasswordHash: Equatable {
    static let saltByteCount = 16
    static let hashByteCount = 32

    let parameters: ScryptParameters
    let salt: [UInt8]
    let hash: [UInt8]

    /// Hashes `password` with a fresh random salt.
    static func make(password: [UInt8], parameters: ScryptParameters) throws -> PasswordHash {
        let salt = randomBytes(saltByteCount)
        return PasswordHash(parameters: parameters, salt: salt, hash: try derive(password, salt: salt, parameters: parameters))
    }

    private static func derive(_ password: [UInt8], salt: [UInt8], parameters: ScryptParameters) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: password, salt: salt, outputByteCount: hashByteCount,
            rounds: 1 << parameters.logN, blockSize: parameters.r, parallelism: parameters.p)
        return key.withUnsafeBytes { Array($0) }
    }

    /// Whether `password` is the hashed one (constant-time comparison).
    func matches(password: [UInt8]) throws -> Bool {
        let candidate = try Self.derive(password, salt: salt, parameters: parameters)
        return constantTimeEquals(candidate, hash)
    }

    /// The PHC string stored in the database.
    var phcString: String {
        "$scrypt$\(parameters)$\(Base64Text.phc(salt))$\(Base64Text.phc(hash))"
    }

    /// Parses a PHC string; nil when it is not a scrypt hash within accepted bounds.
    init?(phcString: String) {
        let fields = phcString.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[1] == "scrypt" else { return nil }
        var values: [Substring: Int] = [:]
        for pair in fields[2].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let number = Int(parts[1]) else { return nil }
            values[parts[0]] = number
        }
        guard values.count == 3, let logN = values["ln"], let r = values["r"], let p = values["p"],
              let salt = Base64Text.decodePHC(fields[3]), let hash = Base64Text.decodePHC(fields[4]),
              !salt.isEmpty, hash.count == Self.hashByteCount
        else { return nil }
        let parameters = ScryptParameters(logN: logN, r: r, p: p)
        guard parameters.isValid else { return nil }
        self.init(parameters: parameters, salt: salt, hash: hash)
    }

    init(parameters: ScryptParameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }
}
