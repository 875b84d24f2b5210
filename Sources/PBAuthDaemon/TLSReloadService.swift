import Logging
import PBAuthProtocol
import ServiceLifecycle
import UnixSignals

/// Reloads the TLS certificates and keys on SIGHUP: each listener's (and a subordinate's
/// upstream link's) files are read again and used for the connections made from then on;
/// open connections keep theirs and are not dropped. Files that are bad leave the ones in
/// use in place, with one error line.
struct TLSReloadService: Service {
    let reloadables: [any TLSReloadable]
    /// Trapped before any service starts, so that an early SIGHUP does not end the daemon.
    let hangups: UnixSignalsSequence
    let logger: Logger

    func run() async throws {
        // Ends at the group's graceful shutdown (this service is the last to be told).
        for await _ in hangups.cancelOnGracefulShutdown() {
            reloadAll()
        }
    }

    private func reloadAll() {
        for reloadable in reloadables {
            do {
                try reloadable.reload()
                logger.notice("reloaded \(reloadable.reloadDescription)")
            } catch {
                logger.error("could not reload \(reloadable.reloadDescription); keeping the ones in use", metadata: ["error": "\(error)"])
            }
        }
    }
}
