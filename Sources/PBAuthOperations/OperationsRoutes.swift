import Foundation

/// What the operations listener answers, as a daemon provides it.
public struct OperationsRoutes: Sendable {
    /// The Prometheus text of `GET /metrics` (the daemon samples its levels first).
    public var metrics: @Sendable () async -> String
    /// The answer of `GET /health/ready`.
    public var readiness: @Sendable () async -> HealthReport
    /// Who answers (`master` or `subordinate`), in the health bodies.
    public var role: String

    /// Routes for `role`.
    public init(role: String, metrics: @escaping @Sendable () async -> String,
                readiness: @escaping @Sendable () async -> HealthReport) {
        self.role = role
        self.metrics = metrics
        self.readiness = readiness
    }
}

/// A readiness answer: ready or not, and a few words on why. Never holds a secret, a name or
/// an address a peer chose.
public struct HealthReport: Sendable, Equatable {
    /// Whether the daemon can do its work now.
    public var ready: Bool
    /// What was checked and found, for example `["database": "writable"]`.
    public var checks: [String: String]

    /// A report.
    public init(ready: Bool, checks: [String: String]) {
        self.ready = ready
        self.checks = checks
    }

    /// The JSON body: `{"checks":{...},"role":"master","status":"ready"}` (sorted keys).
    func json(role: String) -> String {
        Self.json(status: ready ? "ready" : "not ready", role: role, checks: checks)
    }

    static func json(status: String, role: String, checks: [String: String]? = nil) -> String {
        var object: [String: any Sendable] = ["status": status, "role": role]
        if let checks { object["checks"] = checks }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return #"{"status":"\#(status)"}"#
        }
        return String(decoding: data, as: UTF8.self)
    }
}
