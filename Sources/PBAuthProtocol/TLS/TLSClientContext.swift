#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOSSL
import PerspectiveBroker
import Synchronization

/// What a TLS client (a subordinate's upstream link) trusts and shows: the CA bundle that
/// verifies the server, and optionally a client certificate and key for mutual TLS.
public struct TLSClientSettings: Sendable, Equatable {
    /// A PEM bundle of the CAs that may sign the server's certificate (nothing else is trusted).
    public var ca: String
    /// The client certificate chain (mutual TLS); `nil`: none.
    public var certificate: String?
    /// The key of `certificate`, readable by its owner only.
    public var key: String?

    /// Settings that trust the CAs of `ca`.
    public init(ca: String, certificate: String? = nil, key: String? = nil) {
        self.ca = ca
        self.certificate = certificate
        self.key = key
    }
}

/// A TLS client context: it verifies the server's chain against its CAs and the server's
/// name (a DNS name in the certificate, or, for an IP address, that address), and never
/// connects without TLS. `reload()` rereads the files for the next connections.
public final class TLSClientContext: TLSReloadable {
    /// The files it was made from.
    public let settings: TLSClientSettings
    private let current: Mutex<NIOSSLContext>
    private let logger: Logger

    /// Reads the CA bundle (and the client certificate and key); throws when one is
    /// unreadable or invalid, or when the key may be read by others.
    public init(settings: TLSClientSettings, logger: Logger) throws(TLSFileError) {
        self.settings = settings
        self.logger = logger
        current = Mutex(try Self.makeContext(settings, logger: logger))
    }

    /// Reads the files again for new connections; throws (keeping the current ones) when they are bad.
    public func reload() throws(TLSFileError) {
        let context = try Self.makeContext(settings, logger: logger)
        current.withLock { $0 = context }
    }

    /// What `reload()` reads, for its log line.
    public var reloadDescription: String { "the upstream TLS CA and client certificate" }

    /// The transport of one connection to a server that must prove to be `serverName`: a DNS
    /// name its certificate must hold, or an IP address (which must then be the address
    /// connected to, and in the certificate). A failed handshake closes the connection and is
    /// written to `note`.
    public func transport(serverName: String, note: TLSFailureNote? = nil) -> PBTransport {
        // swift-nio-ssl checks an IP address against the address connected to when it is
        // given no name (IP addresses may not be sent as SNI).
        let hostname: String? = Self.isIPAddress(serverName) ? nil : serverName
        return PBTransport(isTLS: true) { [self] channel in
            let context = current.withLock { $0 }
            let handlers: [any ChannelHandler] = [
                try NIOSSLClientHandler(context: context, serverHostname: hostname, configuration: TLSPolicy.handlerConfiguration),
                TLSFailureWatcher(counter: nil, note: note, requiredDNSName: hostname),
            ]
            try channel.pipeline.syncOperations.addHandlers(handlers)
        }
    }

    /// Whether `text` is an IPv4 or IPv6 address.
    public static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    private static func makeContext(_ settings: TLSClientSettings, logger: Logger) throws(TLSFileError) -> NIOSSLContext {
        // Errors name the subordinate's settings, which these files come from.
        let names = (ca: "upstream_ca", certificate: "upstream_certificate", key: "upstream_key")
        let authorities = try TLSFiles.certificates(settings.ca, setting: names.ca)
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(authorities)
        configuration.certificateVerification = .fullVerification
        if let certificatePath = settings.certificate, let keyPath = settings.key {
            let chain = try TLSFiles.certificates(certificatePath, setting: names.certificate)
            let key = try TLSFiles.privateKey(keyPath, setting: names.key)
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
            TLSPolicy.warnIfExpired(chain[0], setting: names.certificate, path: certificatePath, logger: logger)
        }
        TLSPolicy.apply(to: &configuration)
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            if let certificate = settings.certificate, let key = settings.key {
                throw .unusable(certificate: certificate, key: key)
            }
            throw .unusableCA(setting: names.ca, path: settings.ca)
        }
    }
}
