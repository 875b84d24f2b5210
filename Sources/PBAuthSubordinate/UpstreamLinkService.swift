import Logging
import ServiceLifecycle

/// The upstream link's reconnection loop as a service: it runs until the group shuts down
/// gracefully (after the listener stopped), then closes the link.
struct UpstreamLinkService: Service {
    let link: UpstreamLink
    let logger: Logger

    func run() async throws {
        let link = self.link
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await link.run() }
            try? await gracefulShutdown()
            tasks.cancelAll()
        }
        logger.notice("pbauth subordinate stopped")
    }
}
