import Logging
import NIOCore
import NIOPosix
import PerspectiveBroker

/// A Swift PB server on 127.0.0.1 (OS-chosen port) serving a portal root with `TestPortal`.
struct SwiftTestServer {
    let server: PBServer
    let port: Int
    let portal: TestPortal
    let group: MultiThreadedEventLoopGroup

    static func start(configuration: PBServerConfiguration = PBServerConfiguration()) async throws -> SwiftTestServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let portal = TestPortal()
        let server = PBServer(configuration: configuration, group: group, logger: Logger(label: "interop.pb.server")) { _ in
            PBPortalRoot(portal: portal)
        }
        let port = try await server.start()
        return SwiftTestServer(server: server, port: port, portal: portal, group: group)
    }

    func stop() async {
        await server.stop(gracePeriod: .seconds(1))
        try? await group.shutdownGracefully()
    }
}

/// Waits (bounded) until `condition` holds; answers whether it did.
func eventually(seconds: Int = 10, _ condition: () -> Bool) async -> Bool {
    for _ in 0..<(seconds * 100) {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
