import ArgumentParser
import Foundation

/// What the load generator is asked to do; passed from the orchestrator as JSON.
struct LoadPlan: Codable, Sendable {
    enum Scenario: String, Codable, CaseIterable, Sendable, ExpressibleByArgument {
        case check, login, password, mixed, idle
    }

    var scenario: Scenario
    var masterHost = "127.0.0.1"
    var masterPort: Int
    var subordinatePort: Int?
    var user: String
    var password: String
    var broker: String
    var token: String
    /// Broker connections for `check` (and the check half of `mixed`).
    var connections = 16
    /// Calls in flight on each connection.
    var inFlight = 16
    /// Concurrent clients for `login` and `password`; idle connections for `idle`.
    var clients = 32
    /// Sessions (cookies) the `check` load cycles through.
    var cookies = 4
    var warmupSeconds = 1.0
    var durationSeconds = 5.0
    /// The CA bundle of TLS brokers: every connection is TLS, verified against it; `nil`: plain TCP.
    var tlsCA: String?
}

/// What the generator measured.
struct GeneratorReport: Codable, Sendable {
    var scenario: String
    var primary: LatencySummary
    /// The password half of `mixed`.
    var secondary: LatencySummary?
    /// Generator CPU seconds per wall second (1.0 = one core busy).
    var generatorCores: Double
}
