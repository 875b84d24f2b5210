import Foundation
import Logging
import NIOCore
import NIOPosix
import PBAuthMetrics
import PBAuthProtocol
import PerspectiveBroker
import ServiceLifecycle

/// `pbauth subordinate` as the services of one `ServiceGroup`: the upstream link (kept up
/// by its reconnection loop), then the PB listener that forwards every check through it.
/// It keeps nothing on disk and nothing in memory beyond one call. On SIGTERM or SIGINT
/// the listener stops first (calls in flight finish for at most `shutdown_grace`), then
/// the link closes.
public struct Subordinate: Sendable {
    /// The services, in the order the group starts them.
    public let services: [any Service]
    private let link: UpstreamLink
    private let server: PBServer
    private let throttle: LoginThrottle

    /// Reads the token and builds the services; throws when the subordinate cannot start.
    public init(configuration: SubordinateConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        configuration.connections.raiseOpenFileLimit(logger: logger)
        // The initializer of SubordinateConfiguration refuses a configuration without these.
        guard !configuration.upstreams.isEmpty, let principal = configuration.broker, let tokenFile = configuration.tokenFile else {
            throw DaemonError.missingSetting(key: "upstream", hint: "--upstream, --broker and --token-file are required")
        }
        let token = try Self.readToken(tokenFile)
        let link = UpstreamLink(upstreams: configuration.upstreams, principal: principal, token: token, group: group, logger: logger,
                                maximumDelay: .milliseconds(configuration.reconnectMaxDelayMilliseconds),
                                heartbeat: .seconds(configuration.upstreamHeartbeat),
                                callTimeout: .milliseconds(configuration.upstreamTimeoutMilliseconds))
        let checker = UpstreamChecker(link: link, principal: principal, hopLimit: configuration.hopLimit,
                                      timeout: .milliseconds(configuration.upstreamTimeoutMilliseconds))
        let throttle = LoginThrottle(rates: configuration.connections.throttleRates, logger: logger)
        let root = BrokerPortal.root(checker: checker, logger: logger, throttle: throttle)
        let server = PBServer(configuration: configuration.connections.serverConfiguration(configuration.listen),
                              group: group, logger: logger, root: { _ in root })
        logger.info("subordinate settings", metadata: [
            "upstream": "\(configuration.upstreams.map(\.description).joined(separator: ","))", "broker": "\(principal)",
        ])
        self.link = link
        self.server = server
        self.throttle = throttle
        services = [
            UpstreamLinkService(link: link, logger: logger),
            BrokerListenerService(server: server, role: "subordinate", listen: configuration.listen,
                                  shutdownGrace: .seconds(configuration.shutdownGraceSeconds), logger: logger),
        ]
    }

    /// Ready while the link is logged in upstream (checks can be answered).
    public func readiness() async -> (ready: Bool, checks: [String: String]) {
        link.isConnected ? (true, ["upstream": "logged in"]) : (false, ["upstream": "not connected"])
    }

    /// The subordinate's levels and running totals, for the metrics (the link's own state is
    /// recorded as it changes).
    public func metricsSample() async -> MetricsSample {
        var sample = MetricsSample()
        sample.connectionsOpen = server.connectionCount
        sample.connectionsRefused = server.refusedConnections
        sample.loginsThrottled = throttle.throttledAttempts
        return sample
    }

    /// The token: the file's first line, without surrounding white space.
    static func readToken(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4096 else {
            throw DaemonError.unreadableTokenFile(path)
        }
        let text = String(decoding: data, as: UTF8.self)
        let firstLine = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let token = firstLine.trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else { throw DaemonError.unreadableTokenFile(path) }
        return Array(token.utf8)
    }
}
