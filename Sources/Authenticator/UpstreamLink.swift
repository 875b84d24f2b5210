import Banana
import Logging
import NIOCore
import PerspectiveBroker
import Synchronization

/// A subordinate's logged-in connection to its upstream broker, kept up by a
/// reconnection loop with capped, jittered exponential backoff. It holds no
/// account data: only the broker avatar's reference.
final class UpstreamLink: Sendable {
    private let upstream: Endpoint
    private let principal: String
    private let token: [UInt8]
    private let group: any EventLoopGroup
    private let logger: Logger
    private let maximumDelay: Duration
    private let state = Mutex(UpstreamState())

    init(upstream: Endpoint, principal: String, token: [UInt8], group: any EventLoopGroup, logger: Logger, maximumDelay: Duration) {
        self.upstream = upstream
        self.principal = principal
        self.token = token
        self.group = group
        self.logger = logger
        self.maximumDelay = maximumDelay
    }

    /// The upstream's broker avatar, or `UpstreamUnavailable` while there is no working connection.
    func avatar() throws -> PBRemoteReference {
        guard let avatar = state.withLock({ $0.avatar }) else { throw AuthenticationFailure.upstreamUnavailable }
        return avatar
    }

    /// Connects, logs in, waits for the connection to drop, and starts over, until the task is cancelled.
    func run() async {
        var delay = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                let connection = try await PBClientConnection.connect(host: upstream.host, port: upstream.port, group: group, logger: logger)
                do {
                    let avatar = try await connection.login(username: Array(principal.utf8), secret: token)
                    state.withLock { $0.avatar = avatar; $0.connection = connection }
                    logger.info("upstream connected", metadata: ["upstream": "\(upstream)"])
                    delay = .milliseconds(50)
                    await withTaskCancellationHandler {
                        await connection.waitUntilClosed()
                    } onCancel: {
                        Task { await connection.close() }
                    }
                    state.withLock { $0.avatar = nil; $0.connection = nil }
                    if !Task.isCancelled {
                        logger.warning("upstream connection lost", metadata: ["upstream": "\(upstream)"])
                    }
                } catch {
                    await connection.close()
                    logger.error("upstream refused this broker's login", metadata: ["upstream": "\(upstream)", "broker": "\(principal)"])
                }
            } catch {
                logger.debug("upstream unreachable", metadata: ["upstream": "\(upstream)"])
            }
            if Task.isCancelled { break }
            // Full jitter: wait a random time up to the current delay, then double it, capped.
            let jittered = Duration.nanoseconds(Int64.random(in: 0...max(1, delay.nanoseconds)))
            try? await Task.sleep(for: jittered + .milliseconds(10))
            delay = min(delay * 2, maximumDelay)
        }
        if let connection = state.withLock({ state -> PBClientConnection? in
            let connection = state.connection
            state.avatar = nil
            state.connection = nil
            return connection
        }) {
            await connection.close()
        }
    }
}

struct UpstreamState: Sendable {
    var avatar: PBRemoteReference?
    var connection: PBClientConnection?
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue + attoseconds / 1_000_000_000
    }
}
