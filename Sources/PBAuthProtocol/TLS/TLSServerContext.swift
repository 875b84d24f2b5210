import Logging
import NIOCore
import NIOSSL
import PerspectiveBroker
import Synchronization

/// The TLS side of one listener: its certificate and key (and the CAs of its clients, for
/// mutual TLS) as a swift-nio-ssl context, and the `PBTransport` that puts TLS below the
/// broker of each connection it accepts.
///
/// A `NIOSSLContext` cannot change, so `reload()` builds a new one from the files and
/// swaps it in: connections accepted from then on use the new certificate, those already
/// open keep theirs. When the new files are bad, the current context stays.
public final class TLSServerContext: TLSReloadable {
    /// The files it was made from.
    public let settings: TLSListenerSettings
    /// The failed handshakes of this listener, counted and logged.
    public let failures: TLSFailureCounter
    private let current: Mutex<NIOSSLContext>
    private let logger: Logger

    /// Reads the certificate chain, the key and the client CAs of `settings`; throws when
    /// one is missing, unreadable or invalid, or when the key may be read by others.
    public init(settings: TLSListenerSettings, logger: Logger) throws(TLSFileError) {
        self.settings = settings
        self.logger = logger
        failures = TLSFailureCounter(listener: settings.listen?.description ?? "tls", logger: logger)
        current = Mutex(try Self.makeContext(settings, logger: logger))
    }

    /// Reads the files again and uses them for new connections; throws (keeping the current
    /// ones) when they are bad.
    public func reload() throws(TLSFileError) {
        let context = try Self.makeContext(settings, logger: logger)
        current.withLock { $0 = context }
    }

    /// What `reload()` reads, for its log line.
    public var reloadDescription: String { "the TLS certificate and key of \(settings.listen?.description ?? "the TLS listener")" }

    /// The transport of this listener: TLS below the broker, with the context current when
    /// the connection is accepted.
    public var transport: PBTransport {
        PBTransport(isTLS: true) { [self] channel in
            let context = current.withLock { $0 }
            let handlers: [any ChannelHandler] = [
                NIOSSLServerHandler(context: context, configuration: TLSPolicy.handlerConfiguration),
                TLSFailureWatcher(counter: failures, note: nil),
            ]
            try channel.pipeline.syncOperations.addHandlers(handlers)
        }
    }

    private static func makeContext(_ settings: TLSListenerSettings, logger: Logger) throws(TLSFileError) -> NIOSSLContext {
        guard let certificatePath = settings.certificate else {
            throw .invalid(setting: "tls_certificate", path: "(not set)", expected: "a PEM certificate chain")
        }
        guard let keyPath = settings.key else {
            throw .invalid(setting: "tls_key", path: "(not set)", expected: "a PEM private key")
        }
        let chain = try TLSFiles.certificates(certificatePath, setting: "tls_certificate")
        let key = try TLSFiles.privateKey(keyPath, setting: "tls_key")
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        if let caPath = settings.clientCA {
            let authorities = try TLSFiles.certificates(caPath, setting: "tls_client_ca")
            configuration.trustRoots = .certificates(authorities)
            // A client certificate signed by one of these CAs is required; clients have no names to check.
            configuration.certificateVerification = .noHostnameVerification
            configuration.sendCANameList = true
        } else {
            configuration.certificateVerification = .none
        }
        TLSPolicy.apply(to: &configuration)
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .unusable(certificate: certificatePath, key: keyPath)
        }
        TLSPolicy.warnIfExpired(chain[0], setting: "tls_certificate", path: certificatePath, logger: logger)
        return context
    }
}

/// Something that SIGHUP reloads (`TLSReloadService`).
public protocol TLSReloadable: Sendable {
    /// Reads the files again; throws, keeping what is in use, when they are bad.
    func reload() throws(TLSFileError)
    /// What is reloaded, for the log line.
    var reloadDescription: String { get }
}
