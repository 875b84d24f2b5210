import PBAuthProtocol
import Foundation

/// A configuration file of `key = value` lines; `#` starts a comment, blank lines
/// are ignored. Keys are lower-case words joined by `_`; a key may appear once.
public struct ConfigurationFile: Sendable, Equatable {
    /// The settings in the file.
    public private(set) var values: [String: String]

    /// Reads and parses the file at `path`. Throws `ConfigurationError`.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError.unreadableFile(path)
        }
        try self.init(text: String(decoding: data, as: UTF8.self), origin: path)
    }

    /// Parses `text`; `origin` names it in error messages.
    public init(text: String, origin: String) throws {
        values = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ConfigurationError.malformedLine(origin: origin, line: index + 1)
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
                throw ConfigurationError.malformedLine(origin: origin, line: index + 1)
            }
            guard values[key] == nil else {
                throw ConfigurationError.duplicateKey(origin: origin, key: key)
            }
            values[key] = value
        }
    }
}

/// Why a configuration could not be read. Messages never include a value, which may be a secret's path or worse.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist or cannot be read.
    case unreadableFile(String)
    /// A line is neither blank, a comment, nor `key = value`.
    case malformedLine(origin: String, line: Int)
    /// The same key appears twice in one file.
    case duplicateKey(origin: String, key: String)
    /// A key that this daemon does not know (a typo would otherwise be silently ignored).
    case unknownKey(origin: String, key: String)
    /// A value of the wrong form.
    case invalidValue(key: String, expected: String)
    /// A setting that must be given is missing.
    case missing(key: String, hint: String)
    /// A setting that means nothing without another one (which is unset or off).
    case needs(key: String, other: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path): "cannot read configuration file \(path)"
        case .malformedLine(let origin, let line): "\(origin):\(line): expected 'key = value'"
        case .duplicateKey(let origin, let key): "\(origin): '\(key)' is set twice"
        case .unknownKey(let origin, let key): "\(origin): unknown setting '\(key)'"
        case .invalidValue(let key, let expected): "setting '\(key)' must be \(expected)"
        case .missing(let key, let hint): "setting '\(key)' is required (\(hint))"
        case .needs(let key, let other): "setting '\(key)' needs \(other)"
        }
    }
}
