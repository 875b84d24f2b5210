import Foundation
import Logging
import NIOCore
import NIOPosix
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

    /// Reads the token and builds the services; throws when the subordinate cannot start.
    public init(configuration: SubordinateConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        configuration.connections.raiseOpenFileLimit(logger: logger)
        // The initializer of SubordinateConfiguration refuses a configuration without these.
        guard let upstream = configuration.upstream, let principal = configuration.broker, let tokenFile = configuration.tokenFile else {
            throw DaemonError.missingSetting(key: "upstream", hint: "--upstream, --broker and --token-file are required")
        }
        let token = try Self.readToken(tokenFile)
        let link = UpstreamLink(upstream: upstream, principal: principal, token: token, group: group, logger: logger,
                                maximumDelay: .milliseconds(configuration.reconnectMaxDelayMilliseconds),
                                heartbeat: .seconds(configuration.upstreamHeartbeat),
                                callTimeout: .milliseconds(configuration.upstreamTimeoutMilliseconds))
        let checker = UpstreamChecker(link: link, principal: principal, hopLimit: configuration.hopLimit,
                                      timeout: .milliseconds(configuration.upstreamTimeoutMilliseconds))
        let root = BrokerPortal.root(checker: checker, logger: logger,
                                     throttle: LoginThrottle(rates: configuration.connections.throttleRates, logger: logger))
        let server = PBServer(configuration: configuration.connections.serverConfiguration(configuration.listen),
                              group: group, logger: logger, root: { _ in root })
        logger.info("subordinate settings", metadata: ["upstream": "\(upstream)", "broker": "\(principal)"])
        services = [
            UpstreamLinkService(link: link, logger: logger),
            BrokerListenerService(server: server, role: "subordinate", listen: configuration.listen,
                                  shutdownGrace: .seconds(configuration.shutdownGraceSeconds), logger: logger),
        ]
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
