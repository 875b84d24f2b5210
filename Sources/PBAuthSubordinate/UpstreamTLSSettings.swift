import PBAuthProtocol

/// The subordinate's upstream link over TLS: `upstream_tls`, `upstream_ca`,
/// `upstream_server_name`, `upstream_certificate`, `upstream_key`.
public struct UpstreamTLSSettings: Sendable, Equatable {
    /// Whether the upstream link is TLS (and never plain TCP). Default `false`.
    public var enabled = false
    /// The PEM bundle of the CAs that verify the upstream; required when `enabled`.
    public var ca: String?
    /// The DNS name the upstream's certificate must hold; `nil`: the upstream's host (an IP
    /// address is checked against the certificate's IP addresses).
    public var serverName: String?
    /// A client certificate chain for mutual TLS upstream.
    public var certificate: String?
    /// Its private key, readable by its owner only.
    public var key: String?

    /// The configuration file keys.
    public static let keys = ["upstream_tls", "upstream_ca", "upstream_server_name", "upstream_certificate", "upstream_key"]

    /// A plain link.
    public init() {}

    /// What the TLS client of the link trusts and shows; `nil` when the link is plain.
    public var clientSettings: TLSClientSettings? {
        guard enabled, let ca else { return nil }
        return TLSClientSettings(ca: ca, certificate: certificate, key: key)
    }

    /// The name the upstream at `host` must prove.
    public func serverName(for host: String) -> String { serverName ?? host }
}
