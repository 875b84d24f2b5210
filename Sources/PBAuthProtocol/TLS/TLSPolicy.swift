#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOSSL

/// The one TLS policy of every pbauth connection, listener and upstream link alike:
/// TLS 1.2 or newer (1.3 whenever the peer offers it), and for TLS 1.2 only the ECDHE
/// suites with AEAD ciphers (forward secrecy, no CBC, no RSA key exchange, no SHA-1 MACs).
/// TLS 1.3's own suites are all strong and are left as BoringSSL orders them. No
/// renegotiation.
enum TLSPolicy {
    /// The TLS 1.2 cipher suites offered and accepted.
    static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// `configuration` held to the policy.
    static func apply(to configuration: inout TLSConfiguration) {
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = nil
        configuration.cipherSuiteValues = tls12CipherSuites
        configuration.renegotiationSupport = .none
    }

    /// How a handler of ours runs: it does not keep more than 64 KiB of outbound buffer
    /// between writes (swift-nio-ssl's default keeps the largest it ever needed).
    static var handlerConfiguration: NIOSSLHandler.Configuration {
        var configuration = NIOSSLHandler.Configuration()
        configuration.maximumPreservedOutboundBufferCapacity = 64 * 1024
        return configuration
    }
}

extension TLSPolicy {
    /// Logs a warning when `certificate` is not valid now (peers will refuse it).
    static func warnIfExpired(_ certificate: NIOSSLCertificate, setting: String, path: String, logger: Logger) {
        let now = time(nil)
        if certificate.notValidAfter < now || certificate.notValidBefore > now {
            logger.warning("the certificate is not valid now; peers will refuse it", metadata: ["setting": "\(setting)", "file": "\(path)"])
        }
    }
}
