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
    /// The TLS listener's certificate and key; `nil` without `tls_listen`.
    public let tls: TLSServerContext?
    /// The upstream link's CAs and client certificate; `nil` unless `upstream_tls`.
    public let upstreamTLS: TLSClientContext?
    /// What SIGHUP reloads: the TLS listener's files and the upstream link's.
    public var tlsReloadables: [any TLSReloadable] { [tls as (any TLSReloadable)?, upstreamTLS].compactMap { $0 } }
    private let link: UpstreamLink
    private let server: PBServer
    private let throttle: LoginThrottle

    /// Reads the token and the TLS files and builds the services; throws when the subordinate cannot start.
    public init(configuration: SubordinateConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        // The initializer of SubordinateConfiguration refuses a configuration without these.
        guard !configuration.upstreams.isEmpty, let principal = configuration.broker, let tokenFile = configuration.tokenFile else {
            throw DaemonError.missingSetting(key: "upstream", hint: "--upstream, --broker and --token-file are required")
        }
        tls = try configuration.tls.listen.map { _ in try TLSServerContext(settings: configuration.tls, logger: logger) }
        upstreamTLS = try configuration.upstreamTLS.clientSettings.map { try TLSClientContext(settings: $0, logger: logger) }
        let listeners = BrokerListenerService.listeners(plain: configuration.listen, tls: configuration.tls.listen, context: tls)
        guard let first = listeners.first else { throw DaemonError.noListener }
        configuration.connections.raiseOpenFileLimit(logger: logger)
        let token = try Self.readToken(tokenFile)
        let link = UpstreamLink(upstreams: configuration.upstreams, principal: principal, token: token, group: group, logger: logger,
                                maximumDelay: .milliseconds(configuration.reconnectMaxDelayMilliseconds),
                                heartbeat: .seconds(configuration.upstreamHeartbeat),
                                callTimeout: .milliseconds(configuration.upstreamTimeoutMilliseconds),
                                tls: upstreamTLS.map { UpstreamTLS(context: $0, serverName: configuration.upstreamTLS.serverName) })
        let checker = UpstreamChecker(link: link, principal: principal, hopLimit: configuration.hopLimit,
                                      timeout: .milliseconds(configuration.upstreamTimeoutMilliseconds))
        let throttle = LoginThrottle(rates: configuration.connections.throttleRates, logger: logger)
        let root = BrokerPortal.root(checker: checker, logger: logger, throttle: throttle)
        let server = PBServer(configuration: configuration.connections.serverConfiguration(first.endpoint),
                              group: group, logger: logger, root: { _ in root })
        logger.info("subordinate settings", metadata: [
            "upstream": "\(configuration.upstreams.map(\.description).joined(separator: ","))", "broker": "\(principal)",
            "upstream_tls": "\(upstreamTLS != nil)",
        ])
        self.link = link
        self.server = server
        self.throttle = throttle
        services = [
            UpstreamLinkService(link: link, logger: logger),
            BrokerListenerService(server: server, role: "subordinate", listeners: listeners,
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
        MetricsSample(server: server, throttle: throttle, tls: tls)
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
