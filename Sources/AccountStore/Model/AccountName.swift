/// The one definition of a valid account name (users and broker principals):
/// 1 to 64 bytes of ASCII letters, digits, `.`, `_`, `-` and `@`. Anything
/// else, control characters included, is refused.
public struct AccountName: Sendable, Hashable, CustomStringConvertible {
    /// The longest name, in bytes.
    public static let maximumLength = 64

    /// The validated name.
    public let value: String

    /// Validates `name`; throws `StoreError.invalidAccountName` when it breaks the rules.
    public init(_ name: String) throws {
        guard Self.isValid(name) else { throw StoreError.invalidAccountName(name) }
        value = name
    }

    /// Whether `name` follows the rules.
    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...maximumLength).contains(bytes.count) else { return false }
        return bytes.allSatisfy(isAllowed)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }

    /// The rule, for messages.
    static let rule = "1 to 64 ASCII letters, digits, '.', '_', '-' or '@'"

    public var description: String { value }
}

/// Quotes text that came from outside (a name, a path element) for a one-line
/// message: control and non-ASCII characters are escaped so that they can
/// neither break the line nor drive the terminal.
func quotedForMessage(_ text: String) -> String {
    var out = "'"
    for scalar in text.unicodeScalars.prefix(100) {
        if scalar.isASCII, scalar.value >= 0x20, scalar.value != 0x7F, scalar != "'" , scalar != "\\" {
            out.unicodeScalars.append(scalar)
        } else {
            out += "\\u{\(String(scalar.value, radix: 16))}"
        }
    }
    if text.unicodeScalars.count > 100 { out += "..." }
    return out + "'"
}
