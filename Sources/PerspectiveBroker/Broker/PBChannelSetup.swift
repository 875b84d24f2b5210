import Banana
import Logging
import NIOCore
import Synchronization

/// Builds the pipeline of one PB connection: the broker, which decodes what it reads itself.
enum PBChannelSetup {
    private static let lastConnectionID = Atomic<UInt64>(0)

    /// A new, process-unique connection number.
    static func nextConnectionID() -> UInt64 {
        lastConnectionID.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Describes `channel`'s peer; `isTLS` says whether a TLS transport is below the broker.
    static func connectionInfo(for channel: any Channel, isTLS: Bool = false) -> PBConnectionInfo {
        let address = channel.remoteAddress
        var text = "unknown"
        var isLoopback = false
        if let address, let ip = address.ipAddress, let port = address.port {
            text = address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
            isLoopback = ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
        }
        return PBConnectionInfo(id: nextConnectionID(), remoteAddress: text, isLoopback: isLoopback, isTLS: isTLS, channel: channel)
    }

    /// Installs the handlers; must run on `channel`'s event loop. Answers the broker.
    static func install(on channel: any Channel, role: PBRole, settings: PBConnectionSettings,
                        root: (any PBReferenceable)?, connection: PBConnectionInfo, logger: Logger) throws -> PBBroker {
        let broker = PBBroker(role: role, eventLoop: channel.eventLoop, connection: connection, root: root,
                              settings: settings, logger: logger)
        try channel.pipeline.syncOperations.addHandler(broker)
        return broker
    }
}
