import AccountStore
import Logging
import PBAuthProtocol
import PerspectiveBroker
import ServiceLifecycle
import Synchronization

/// The master's rule for broker calls (protocol.md section 4.7): a call on a broker
/// avatar is served only while the calling principal and every name on its `via` path is
/// an existing, enabled broker principal; when one stops being so, the master closes its
/// connections.
///
/// What each name is, is read from the database and cached for at most `maximumAge`
/// (1 s), so that the hot path (one or two names per cookie check through subordinates)
/// costs a lock and a dictionary lookup, not a query. `refresh`, run every
/// `refreshInterval` by `BrokerPrincipalWatchService`, reads again the names of the
/// principals with open connections, keeps their entries fresh, and answers the
/// connections of those that were disabled or removed.
final class BrokerPrincipals: Sendable {
    /// How long a cached answer stands; older ones are read again.
    static let maximumAge: Duration = .seconds(1)
    /// How often `refresh` runs: well within `maximumAge`, so the names in use stay cached
    /// and a revoked principal's connections close in about this long.
    static let refreshInterval: Duration = .milliseconds(250)
    /// The most names cached. A broker can name any valid account in `via`; past this many,
    /// stale entries are dropped, and when none is stale the answer is not cached.
    static let maximumEntries = 4_096

    /// What a name is, as far as broker calls are concerned.
    enum Standing: Sendable, Equatable {
        case enabled
        case disabled
        /// No account, or an account that is not a broker principal.
        case notABroker

        /// The failure of a call whose path holds a name of this standing; nil when it may call.
        var failure: AuthenticationFailure? {
            switch self {
            case .enabled: nil
            case .disabled: .accountDisabled
            case .notABroker: .noSuchAccount
            }
        }

        init(_ account: Account?) {
            guard let account, account.kind == .broker else {
                self = .notABroker
                return
            }
            self = account.disabled ? .disabled : .enabled
        }
    }

    private struct Entry {
        var standing: Standing
        var read: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// The open connections of each principal logged in at this master, by connection id.
        var connections: [String: [UInt64: PBConnectionInfo]] = [:]
    }

    private let state = Mutex(State())
    private let clock = ContinuousClock()

    // MARK: Checking a path

    /// The verdict on `path` from the cache alone: nil when some name is not cached or its
    /// entry is too old (ask `verify`); else the failure of the first refused name, in path
    /// order, or `.success` when every name may call.
    func cachedVerdict(_ path: [String]) -> Result<Void, AuthenticationFailure>? {
        // A login at this master's own portal has no path: nothing to look up.
        guard !path.isEmpty else { return .success(()) }
        let now = clock.now
        return state.withLock { state in
            for name in path {
                guard let entry = state.entries[name], now - entry.read < Self.maximumAge else { return nil }
                if let failure = entry.standing.failure { return .failure(failure) }
            }
            return .success(())
        }
    }

    /// Throws the failure of the first name on `path` that is not an enabled broker principal.
    /// Reads from `store` the names whose cached answer is missing or too old. Runs on a
    /// database thread (inside the check's own read transaction).
    func verify(_ path: [String], store: AccountStore) throws {
        if let refusal = try refusal(of: path, store: store) { throw refusal }
    }

    /// The failure of the first name on `path` that is not an enabled broker principal, or nil;
    /// throws only for a database failure. Otherwise as `verify`.
    func refusal(of path: [String], store: AccountStore) throws -> AuthenticationFailure? {
        if let verdict = cachedVerdict(path) {
            if case .failure(let failure) = verdict { return failure }
            return nil
        }
        for name in path {
            if let failure = try standing(of: name, store: store).failure { return failure }
        }
        return nil
    }

    private func standing(of name: String, store: AccountStore) throws -> Standing {
        let now = clock.now
        if let entry = state.withLock({ $0.entries[name] }), now - entry.read < Self.maximumAge { return entry.standing }
        let standing = Standing(try store.account(named: name))
        remember(name, standing, read: now)
        return standing
    }

    private func remember(_ name: String, _ standing: Standing, read: ContinuousClock.Instant) {
        state.withLock { state in
            if state.entries[name] == nil, state.entries.count >= Self.maximumEntries {
                let now = clock.now
                state.entries = state.entries.filter { now - $0.value.read < Self.maximumAge }
                guard state.entries.count < Self.maximumEntries else { return }
            }
            state.entries[name] = Entry(standing: standing, read: read)
        }
    }

    // MARK: Connections

    /// Notes that `principal` logged in on `connection`; answers what to run when that login
    /// ends (the avatar is released or the connection closes).
    func loggedIn(_ principal: String, on connection: PBConnectionInfo) -> @Sendable () -> Void {
        state.withLock { $0.connections[principal, default: [:]][connection.id] = connection }
        return { [weak self] in
            self?.state.withLock { state in
                state.connections[principal]?[connection.id] = nil
                if state.connections[principal]?.isEmpty == true { state.connections[principal] = nil }
            }
        }
    }

    /// The principals with open connections now.
    var connectedPrincipals: [String] {
        state.withLock { Array($0.connections.keys) }
    }

    /// Reads again what `names` are (on a database thread), caches it, and answers the
    /// principals among them that may no longer call, with their standing and open connections.
    func refresh(_ names: [String], store: AccountStore) throws -> [(principal: String, standing: Standing, connections: [PBConnectionInfo])] {
        let read = clock.now
        let standings = try store.readSnapshot { try names.map { (name: $0, standing: Standing(try store.account(named: $0))) } }
        return state.withLock { state in
            let now = clock.now
            // Drop what is too old to answer, so that the cache holds only names in use.
            state.entries = state.entries.filter { now - $0.value.read < Self.maximumAge }
            var refused: [(principal: String, standing: Standing, connections: [PBConnectionInfo])] = []
            for (name, standing) in standings {
                state.entries[name] = Entry(standing: standing, read: read)
                if standing != .enabled, let open = state.connections[name], !open.isEmpty {
                    refused.append((name, standing, Array(open.values)))
                }
            }
            return refused
        }
    }
}

/// Runs `BrokerPrincipals.refresh` every `BrokerPrincipals.refreshInterval` for the
/// principals with open connections, and closes the connections of those that an admin
/// disabled or removed (protocol.md section 4.7). A failed read is logged and tried again
/// at the next tick; meanwhile, checks read the names themselves once their entries are too old.
struct BrokerPrincipalWatchService: Service {
    let checker: MasterChecker
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var reportedFailure = false
            while !Task.isCancelled {
                try? await Task.sleep(for: BrokerPrincipals.refreshInterval)
                if Task.isCancelled { break }
                do {
                    for (principal, standing, connections) in try await checker.refreshBrokerPrincipals() {
                        logger.notice("closing the connections of a broker principal that may no longer call", metadata: [
                            "account": "\(principal)", "reason": "\(standing.failure?.typeName ?? "")",
                            "connections": "\(connections.count)",
                        ])
                        for connection in connections { connection.close() }
                    }
                    reportedFailure = false
                } catch {
                    if !reportedFailure { logger.error("could not read the broker principals' standing; trying again") }
                    reportedFailure = true
                }
            }
        }
    }
}
