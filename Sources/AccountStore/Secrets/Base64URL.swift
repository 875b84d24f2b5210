import Foundation

/// Base64 encodings used by pbauth's secrets.
enum Base64Text {
    private static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// base64url without padding (RFC 4648 section 5): cookies and tokens.
    ///
    /// Written out by hand because a cookie is derived on every cookie check;
    /// Foundation's encoder plus three string replacements cost more than the HMAC.
    static func url<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(urlAlphabet[Int(chunk >> 18 & 63)])
            output.append(urlAlphabet[Int(chunk >> 12 & 63)])
            output.append(urlAlphabet[Int(chunk >> 6 & 63)])
            output.append(urlAlphabet[Int(chunk & 63)])
            index += 3
        }
        switch input.count - index {
        case 1:
            let chunk = UInt32(input[index]) << 16
            output.append(urlAlphabet[Int(chunk >> 18 & 63)])
            output.append(urlAlphabet[Int(chunk >> 12 & 63)])
        case 2:
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(urlAlphabet[Int(chunk >> 18 & 63)])
            output.append(urlAlphabet[Int(chunk >> 12 & 63)])
            output.append(urlAlphabet[Int(chunk >> 6 & 63)])
        default:
            break
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Standard base64 without padding, as PHC strings use it.
    static func phc<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    /// Decodes standard base64 with or without padding; nil when malformed.
    static func decodePHC(_ text: Substring) -> [UInt8]? {
        var padded = String(text)
        while padded.utf8.count % 4 != 0 { padded += "=" }
        return Data(base64Encoded: padded).map { Array($0) }
    }
}

/// Lowercase hex of bytes.
func hexString<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// `count` bytes from the system's cryptographic random generator.
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}
