import Banana
import PerspectiveBroker

/// Reads a remote method's arguments, refusing wrong counts and types with a
/// `TypeError` failure as a stock PB broker would.
public struct Arguments: Sendable {
    /// The method the arguments were given to (for messages).
    public let method: String
    /// The positional arguments.
    public let positional: [JellyValue]
    /// The keyword arguments.
    public let keywords: JellyDictionary

    /// The arguments of one call of `method`.
    public init(method: String, positional: [JellyValue], keywords: JellyDictionary) {
        self.method = method
        self.positional = positional
        self.keywords = keywords
    }

    /// Refuses a call whose positional count is outside `range` or that has keywords other than `allowedKeywords`.
    public func expect(_ range: ClosedRange<Int>, keywords allowedKeywords: Set<String> = []) throws {
        guard range.contains(positional.count) else {
            let expected = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
            throw PBCallError.badArguments("\(method)() takes \(expected) arguments (\(positional.count) given)")
        }
        for entry in keywords.entries {
            guard let name = entry.key.stringValue, allowedKeywords.contains(name) else {
                throw PBCallError.badArguments("\(method)() got an unexpected keyword argument")
            }
        }
    }

    /// Argument `index` as text (a str, or bytes that are valid UTF-8).
    public func text(_ index: Int, _ name: String) throws -> String {
        guard index < positional.count, let value = positional[index].stringValue else {
            throw PBCallError.badArguments("\(method)(): '\(name)' must be a str")
        }
        return value
    }

    /// Argument `index` as bytes (bytes, or a str as UTF-8), at most `limit` bytes long.
    public func bytes(_ index: Int, _ name: String, limit: Int = 1024) throws -> [UInt8] {
        guard index < positional.count, let value = positional[index].bytesValue else {
            throw PBCallError.badArguments("\(method)(): '\(name)' must be bytes")
        }
        guard value.count <= limit else { throw PBCallError.badArguments("\(method)(): '\(name)' is too long") }
        return value
    }

    /// A list of str given at position `index` or as keyword `name`; empty when absent.
    public func textList(_ index: Int, keyword name: String) throws -> [String] {
        let value: JellyValue?
        if index < positional.count { value = positional[index] } else { value = keywords[name] }
        guard let value else { return [] }
        if case .none = value { return [] }
        guard let items = value.arrayValue else { throw PBCallError.badArguments("\(method)(): '\(name)' must be a list of str") }
        return try items.map { item in
            guard let text = item.stringValue else { throw PBCallError.badArguments("\(method)(): '\(name)' must be a list of str") }
            return text
        }
    }
}
