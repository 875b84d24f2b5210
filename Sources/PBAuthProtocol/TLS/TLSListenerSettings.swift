/// The TLS listener that both daemons may run beside (or instead of) their plain one:
/// `tls_listen`, `tls_certificate`, `tls_key`, `tls_client_ca`.
public struct TLSListenerSettings: Sendable, Equatable {
    /// Where the portal is served over TLS; `nil` (the default): no TLS listener.
    public var listen: Endpoint?
    /// The PEM certificate chain, leaf first.
    public var certificate: String?
    /// The PEM private key of the leaf certificate, readable by its owner only.
    public var key: String?
    /// A PEM bundle of the CAs whose client certificates are required (mutual TLS);
    /// `nil`: clients need no certificate.
    public var clientCA: String?

    /// The configuration file keys.
    public static let keys = ["tls_listen", "tls_certificate", "tls_key", "tls_client_ca"]

    /// No TLS listener.
    public init() {}

    /// A TLS listener on `listen` with these files.
    public init(listen: Endpoint?, certificate: String?, key: String?, clientCA: String? = nil) {
        self.listen = listen
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
    }
}
