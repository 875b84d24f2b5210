import PBAuthProtocol
import Banana
import Logging
import NIOCore
import PBAuthMetrics
import PerspectiveBroker
import Synchronization

/// A subordinate's logged-in connection to its upstream broker, kept up by a
/// reconnection loop with capped, jittered exponential backoff. It holds no
/// account data: only the broker avatar's reference.
///
/// With several upstreams (a master and its standbys), the link goes to the next one in the
/// list when one cannot be reached or refuses the login, and backs off only after trying them
/// all. It stays with the upstream it reached: when that link drops, the same upstream is
/// tried first again (a master that failed and came back must not win subordinates back
/// from the standby that replaced it).
final class UpstreamLink: Sendable {
    private let upstreams: [Endpoint]
    private let metrics: [UpstreamMetrics]
    private let principal: String
    private let token: [UInt8]
    private let group: any EventLoopGroup
    private let logger: Logger
    private let maximumDelay: Duration
    private let heartbeat: Duration
    private let callTimeout: Duration
    /// TLS for every connection to the upstream (never plain when set), and the name it must prove.
    private let tls: UpstreamTLS?
    private let state = Mutex(UpstreamState())

    /// What an upstream may send: its answers are statuses and small dicts (well under 1 KiB),
    /// so 256 KiB per message bounds a broken or hostile upstream with room to spare.
    static let limits = BananaLimits(maxStringBytes: 65_536, maxListCount: 4_096, maxMessageBytes: 256 * 1024)

    convenience init(upstream: Endpoint, principal: String, token: [UInt8], group: any EventLoopGroup, logger: Logger, maximumDelay: Duration,
                     heartbeat: Duration = .seconds(60), callTimeout: Duration = .seconds(10), tls: UpstreamTLS? = nil) {
        self.init(upstreams: [upstream], principal: principal, token: token, group: group, logger: logger, maximumDelay: maximumDelay,
                  heartbeat: heartbeat, callTimeout: callTimeout, tls: tls)
    }

    /// A link to the first of `upstreams` that answers (at least one); with `tls`, every
    /// connection to each of them is TLS.
    init(upstreams: [Endpoint], principal: String, token: [UInt8], group: any EventLoopGroup, logger: Logger, maximumDelay: Duration,
         heartbeat: Duration = .seconds(60), callTimeout: Duration = .seconds(10), tls: UpstreamTLS? = nil) {
        precondition(!upstreams.isEmpty, "an upstream link needs at least one upstream")
        self.tls = tls
        self.upstreams = upstreams
        metrics = upstreams.map { UpstreamMetrics(upstream: $0.description) }
        self.principal = principal
        self.token = token
        self.group = group
        self.logger = logger
        self.maximumDelay = maximumDelay
        self.heartbeat = heartbeat
        self.callTimeout = callTimeout
    }

    /// Whether the link is logged in upstream now.
    var isConnected: Bool { state.withLock { $0.avatar != nil } }

    /// The upstream's broker avatar, or `UpstreamUnavailable` while there is no working connection.
    func avatar() throws -> PBRemoteReference {
        guard let avatar = state.withLock({ $0.avatar }) else { throw AuthenticationFailure.upstreamUnavailable }
        return avatar
    }

    /// Connects, logs in, waits for the connection to drop, and starts over, until the task is cancelled.
    func run() async {
        var delay = Duration.milliseconds(50)
        // Which upstream to dial, and how many failed in a row since the last backoff.
        var index = 0
        var failedInARow = 0
        while !Task.isCancelled {
            let upstream = upstreams[index]
            var reached = false
            let tlsFailure = TLSFailureNote()
            do {
                // With TLS the handshake timeout covers the TLS handshake too.
                let transport = tls?.transport(for: upstream, note: tlsFailure)
                let connection = try await PBClientConnection.connect(host: upstream.host, port: upstream.port, group: group,
                                                                      limits: Self.limits, logger: logger, handshakeTimeout: callTimeout,
                                                                      transport: transport)
                do {
                    // Bounded: an upstream that accepts the connection and then never answers must
                    // not hold the link (and every login behind it) forever.
                    let avatar = try await connection.login(username: Array(principal.utf8), secret: token, timeout: callTimeout)
                    state.withLock { $0.avatar = avatar; $0.connection = connection }
                    reached = true
                    metrics[index].didConnect()
                    logger.info("upstream connected", metadata: ["upstream": "\(upstream)", "tls": "\(tls != nil)"])
                    let connected = ContinuousClock.now
                    await withTaskCancellationHandler {
                        await withTaskGroup(of: Void.self) { tasks in
                            tasks.addTask { await self.beat(avatar, on: connection, upstream: upstream) }
                            await connection.waitUntilClosed()
                            tasks.cancelAll()
                        }
                    } onCancel: {
                        Task { await connection.close() }
                    }
                    state.withLock { $0.avatar = nil; $0.connection = nil }
                    metrics[index].didDisconnect()
                    // The backoff starts over only after a link that held: an upstream that takes
                    // the login and then breaks the link at once must not get a login every 50 ms.
                    if ContinuousClock.now - connected >= maximumDelay { delay = .milliseconds(50) }
                    if !Task.isCancelled {
                        logger.warning("upstream connection lost", metadata: ["upstream": "\(upstream)"])
                    }
                } catch PBCallError.remoteFailure {
                    await connection.close()
                    logger.error("upstream refused this broker's login", metadata: ["upstream": "\(upstream)", "broker": "\(principal)"])
                } catch {
                    await connection.close()
                    // Timed out, dropped, or answered nonsense: one line, no payload.
                    logger.error("upstream login failed", metadata: ["upstream": "\(upstream)", "broker": "\(principal)", "error": "\(error)"])
                }
            } catch {
                if let reason = tlsFailure.failure {
                    // A chain or name that does not verify: one line per attempt, and no login upstream.
                    logger.error("upstream TLS handshake failed; not logging in, retrying", metadata: [
                        "upstream": "\(upstream)", "reason": "\(reason)",
                    ])
                } else {
                    logger.debug("upstream unreachable", metadata: ["upstream": "\(upstream)"])
                }
            }
            if Task.isCancelled { break }
            if reached {
                failedInARow = 0
            } else {
                // The next upstream at once, until every one failed; then the backoff.
                index = (index + 1) % upstreams.count
                failedInARow += 1
                if failedInARow < upstreams.count {
                    try? await Task.sleep(for: .milliseconds(10))
                    continue
                }
                failedInARow = 0
            }
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

extension UpstreamLink {
    /// Calls `ping()` on the upstream's broker avatar every `heartbeat`, so that the link is
    /// not closed as idle (the upstream's `logged_in_idle_timeout`) and a dead upstream is
    /// noticed. An upstream that does not answer in time is disconnected (then reconnected);
    /// a failure answer (an upstream without `ping`) still proves the link alive.
    fileprivate func beat(_ avatar: PBRemoteReference, on connection: PBClientConnection, upstream: Endpoint) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: heartbeat)
            } catch {
                return
            }
            do {
                _ = try await avatar.callRemote("ping", arguments: [], keywords: JellyDictionary(), timeout: callTimeout)
            } catch PBCallError.remoteFailure {
                continue
            } catch {
                if Task.isCancelled { return }
                logger.warning("upstream did not answer the heartbeat; reconnecting", metadata: ["upstream": "\(upstream)"])
                await connection.close()
                return
            }
        }
    }
}

/// How a link makes its connections TLS: the client context (CAs, client certificate) and the
/// name the upstream must prove (`nil`: the upstream's host).
struct UpstreamTLS: Sendable {
    let context: TLSClientContext
    let serverName: String?

    func transport(for upstream: Endpoint, note: TLSFailureNote) -> PBTransport {
        context.transport(serverName: serverName ?? upstream.host, note: note)
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
