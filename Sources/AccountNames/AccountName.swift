/// The one definition of a valid account name (users and broker principals):
/// 1 to 64 bytes of ASCII letters, digits, `.`, `_`, `-` and `@`. Anything
/// else, control characters included, is refused.
///
/// Its own module because both sides of pbauth need the same rule: the store, which
/// keeps accounts, and the protocol, which refuses impossible names before any work.
public struct AccountName: Sendable, Hashable, CustomStringConvertible {
    /// The longest name, in bytes.
    public static let maximumLength = 64

    /// The longest broker path (`via` plus the caller) kept with a session.
    public static let maximumBrokerPathLength = 16

    /// The rule, for messages.
    public static let rule = "1 to 64 ASCII letters, digits, '.', '_', '-' or '@'"

    /// The validated name.
    public let value: String

    /// `name` when it follows the rules, else nil.
    public init?(validating name: String) {
        guard Self.isValid(name) else { return nil }
        value = name
    }

    /// Whether `name` follows the rules.
    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...maximumLength).contains(bytes.count) else { return false }
        return bytes.allSatisfy(isAllowed)
    }

    /// `name` when it is a valid account name, else a placeholder: what the audit log and
    /// log lines show of a name that came off the network, so that no control character
    /// or forged line reaches them.
    public static func recordable(_ name: String) -> String {
        isValid(name) ? name : "(invalid name)"
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

    /// The name itself.
    public var description: String { value }
}
