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

    /// `key` as `HOST:PORT`, or `fallback` when unset.
    public func endpoint(_ key: String, default fallback: Endpoint?) throws -> Endpoint? {
        guard let text = string(key) else { return fallback }
        guard let endpoint = Endpoint(text) else {
            throw ConfigurationError.invalidValue(key: key, expected: "HOST:PORT (port 0 to 65535)")
        }
        return endpoint
    }
}

/// A TCP host and port, written `HOST:PORT` (`[::1]:8787` for IPv6).
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    /// The host name or address.
    public var host: String
    /// The port; 0 lets the system choose when listening.
    public var port: Int

    /// Creates an endpoint.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; `nil` when it is not of that form.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
