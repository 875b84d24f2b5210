import PBAuthProtocol
import Foundation

/// Settings merged from, lowest priority first: built-in defaults, a
/// configuration file, environment variables (`PBAUTH_` + the key in upper
/// case, e.g. `PBAUTH_LISTEN`), and command-line flags.
public struct Settings: Sendable {
    private var values: [String: String]

    /// Merges the layers. Keys not in `known` are refused, wherever they come from.
    public init(
        known: Set<String>,
        file: ConfigurationFile?,
        fileOrigin: String = "configuration",
        environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: [String: String] = [:]
    ) throws {
        values = [:]
        if let file {
            for (key, value) in file.values {
                guard known.contains(key) else { throw ConfigurationError.unknownKey(origin: fileOrigin, key: key) }
                values[key] = value
            }
        }
        for key in known {
            if let value = environment["PBAUTH_" + key.uppercased()] { values[key] = value }
        }
        for (key, value) in overrides {
            guard known.contains(key) else { throw ConfigurationError.unknownKey(origin: "command line", key: key) }
            values[key] = value
        }
    }

    /// The raw value of `key`, if any layer set it (an empty value counts as unset).
    public func string(_ key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }

    /// `key` as a whole number within `range`, or `fallback` when unset.
    public func integer(_ key: String, default fallback: Int, range: ClosedRange<Int> = 0...Int.max) throws -> Int {
        guard let text = string(key) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError.invalidValue(key: key, expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// `key` as a boolean (`true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`), or `fallback` when unset.
    public func boolean(_ key: String, default fallback: Bool) throws -> Bool {
        guard let text = string(key)?.lowercased() else { return fallback }
        switch text {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigurationError.invalidValue(key: key, expected: "true or false")
        }
    }

    /// `key` as a comma-separated list `HOST:PORT,HOST:PORT` (at most 16), or empty when unset.
    public func endpoints(_ key: String) throws -> [Endpoint] {
        guard let text = string(key) else { return [] }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let endpoints = parts.compactMap { Endpoint($0) }
        guard endpoints.count == parts.count, (1...16).contains(endpoints.count) else {
            throw ConfigurationError.invalidValue(key: key, expected: "HOST:PORT, or up to 16 of them separated by commas")
        }
        return endpoints
    }

    /// `key` as `HOST:PORT`, or `fallback` when unset.
    public func endpoint(_ key: String, default fallback: Endpoint?) throws -> Endpoint? {
        guard let text = string(key) else { return fallback }
        guard let endpoint = Endpoint(text) else {
            throw ConfigurationError.invalidValue(key: key, expected: "HOST:PORT (port 0 to 65535)")
        }
        return endpoint
    }

    /// `key` as `HOST:PORT`, or `nil` for `off`; `fallback` when unset (a listening address
    /// that can be turned off, such as `listen`).
    public func listenEndpoint(_ key: String, default fallback: Endpoint?) throws -> Endpoint? {
        if string(key)?.lowercased() == "off" { return nil }
        guard let text = string(key) else { return fallback }
        guard let endpoint = Endpoint(text) else {
            throw ConfigurationError.invalidValue(key: key, expected: "HOST:PORT (port 0 to 65535) or off")
        }
        return endpoint
    }

    /// `key` as a file path; `nil` when unset.
    public func path(_ key: String) -> String? { string(key) }
}
