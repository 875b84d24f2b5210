import Logging
import NIOCore
import NIOPosix
import PerspectiveBroker

/// A Swift PB server on 127.0.0.1 (OS-chosen port) serving a portal root with `TestPortal`.
public struct RunningTestServer: Sendable {
    public let server: PBServer
    public let port: Int
    public let portal: TestPortal
    public let group: MultiThreadedEventLoopGroup

    public static func start(configuration: PBServerConfiguration = PBServerConfiguration()) async throws -> RunningTestServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let portal = TestPortal()
        let server = PBServer(configuration: configuration, group: group, logger: Logger(label: "test.pb.server")) { _ in
            PBPortalRoot(portal: portal)
        }
        let port = try await server.start()
        return RunningTestServer(server: server, port: port, portal: portal, group: group)
    }

    public func connect() async throws -> PBClientConnection {
        try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: group)
    }

    public func stop() async {
        await server.stop(gracePeriod: .seconds(1))
        try? await group.shutdownGracefully()
    }
}

/// Waits (bounded) until `condition` holds; answers whether it did.
public func eventually(seconds: Int = 5, _ condition: () -> Bool) async -> Bool {
    for _ in 0..<(seconds * 100) {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
