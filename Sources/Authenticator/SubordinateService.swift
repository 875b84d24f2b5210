import Foundation
import Logging
import NIOCore
import NIOPosix
import PerspectiveBroker
import ServiceLifecycle

/// `pbauth subordinate`: the same portal and checker service as the master,
/// answered by forwarding every check to the upstream broker. It keeps nothing
/// on disk and nothing in memory beyond one call.
public struct SubordinateService: Service {
    private let configuration: SubordinateConfiguration
    private let logger: Logger
    private let group: any EventLoopGroup

    /// Creates the service; nothing is opened until `run()`.
    public init(configuration: SubordinateConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.group = group
    }

    /// Serves until a graceful shutdown (SIGTERM or SIGINT through the service group),
    /// then stops as described above. Throws when the subordinate cannot start.
    public func run() async throws {
        configuration.connections.raiseOpenFileLimit(logger: logger)
        // The initializer of SubordinateConfiguration refuses a configuration without these.
        guard let upstream = configuration.upstream, let principal = configuration.broker, let tokenFile = configuration.tokenFile else {
            throw ConfigurationError.missing(key: "upstream", hint: "--upstream, --broker and --token-file are required")
        }
        let token = try Self.readToken(tokenFile)
        let link = UpstreamLink(upstream: upstream, principal: principal, token: token, group: group, logger: logger,
                                maximumDelay: .milliseconds(configuration.reconnectMaxDelayMilliseconds),
                                heartbeat: .seconds(configuration.upstreamHeartbeat),
                                callTimeout: .milliseconds(configuration.upstreamTimeoutMilliseconds))
        let checker = UpstreamChecker(link: link, principal: principal, hopLimit: configuration.hopLimit,
                                      timeout: .milliseconds(configuration.upstreamTimeoutMilliseconds))
        let portal = BrokerPortal(checker: checker, logger: logger)
        let server = PBServer(
            configuration: configuration.connections.serverConfiguration(configuration.listen),
            group: group,
            logger: logger,
            root: { _ in PBPortalRoot(portal: portal, fallback: nil) }
        )
        let port: Int
        do {
            port = try await server.start()
        } catch {
            throw DaemonError.cannotListen(configuration.listen.description)
        }
        logger.notice("pbauth subordinate listening on \(Endpoint(host: configuration.listen.host, port: port))", metadata: [
            "upstream": "\(upstream)", "broker": "\(principal)",
        ])
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await link.run() }
            try? await gracefulShutdown()
            tasks.cancelAll()
        }
        logger.notice("pbauth subordinate stopping")
        await server.stop(gracePeriod: .seconds(configuration.shutdownGraceSeconds))
        logger.notice("pbauth subordinate stopped")
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
