import Banana
import Logging
import NIOCore
import NIOPosix
import PBAuthProtocol
import PerspectiveBroker
import ServiceLifecycle

/// pbauth as the authenticator of a Swift application broker: a logged-in link to a pbauth
/// broker (the master or a subordinate) and the `Checker` that asks it.
///
/// The application keeps its own avatars: ``portal(makeAvatar:)`` is a PB portal whose
/// logins pbauth decides (a user's cookie, or a broker principal's token) and whose
/// avatars the application makes. Run the link as a service (or call ``run()`` in a task)
/// for as long as the broker serves; while it is down, logins are refused.
///
///     let upstream = PBAuthUpstream(upstream: Endpoint(host: "127.0.0.1", port: 8787),
///                                   broker: "game1", token: token)
///     let server = PBServer(configuration: PBServerConfiguration(port: 9000), group: group, logger: logger) { _ in
///         PBPortalRoot(portal: upstream.portal { status, _ in PBAvatarLogin(avatar: GameAvatar(user: status.username)) })
///     }
public final class PBAuthUpstream: Service, Sendable {
    private let link: UpstreamLink
    private let logger: Logger
    /// The checker that asks the upstream (one call per question, nothing kept).
    public let checker: any Checker

    /// A link to `upstream`, logged in as broker principal `broker` with `token` (from
    /// `pbauth account add NAME --broker`). Nothing connects until ``run()``. With `tls`,
    /// every connection is TLS, verified against its CAs and `serverName` (default: the
    /// upstream's host), and never plain.
    public convenience init(upstream: Endpoint, broker: String, token: [UInt8], hopLimit: Int = 8,
                            callTimeout: Duration = .seconds(10), heartbeat: Duration = .seconds(60),
                            reconnectMaxDelay: Duration = .seconds(5),
                            tls: TLSClientContext? = nil, serverName: String? = nil,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger = Logger(label: "pbauth.upstream")) {
        self.init(upstreams: [upstream], broker: broker, token: token, hopLimit: hopLimit, callTimeout: callTimeout,
                  heartbeat: heartbeat, reconnectMaxDelay: reconnectMaxDelay, tls: tls, serverName: serverName,
                  group: group, logger: logger)
    }

    /// A link to the first of `upstreams` (a master and its standbys, at least one) that
    /// answers, going on to the next when one cannot be reached; otherwise as ``init(upstream:broker:token:hopLimit:callTimeout:heartbeat:reconnectMaxDelay:tls:serverName:group:logger:)``.
    public init(upstreams: [Endpoint], broker: String, token: [UInt8], hopLimit: Int = 8,
                callTimeout: Duration = .seconds(10), heartbeat: Duration = .seconds(60),
                reconnectMaxDelay: Duration = .seconds(5),
                tls: TLSClientContext? = nil, serverName: String? = nil,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "pbauth.upstream")) {
        self.logger = logger
        link = UpstreamLink(upstreams: upstreams, principal: broker, token: token, group: group, logger: logger,
                            maximumDelay: reconnectMaxDelay, heartbeat: heartbeat, callTimeout: callTimeout,
                            tls: tls.map { UpstreamTLS(context: $0, serverName: serverName) })
        checker = UpstreamChecker(link: link, principal: broker, hopLimit: hopLimit, timeout: callTimeout)
    }

    /// Keeps the link up (reconnecting with backoff) until the task is cancelled or the
    /// service group shuts down gracefully.
    public func run() async throws {
        let link = self.link
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await link.run() }
            try? await gracefulShutdown()
            tasks.cancelAll()
        }
    }

    /// Whether the link is logged in upstream now.
    public var isConnected: Bool { (try? link.avatar()) != nil }

    /// A PB portal whose logins pbauth decides and whose avatars `makeAvatar` makes from the
    /// status of the login (who, which session) and the client's mind. Every refused login
    /// is a plain `UnauthorizedLogin`.
    public func portal(makeAvatar: @escaping BrokerPortal.MakeAvatar) -> any PBPortal {
        BrokerPortal(checker: checker, logger: logger, makeAvatar: makeAvatar)
    }
}
