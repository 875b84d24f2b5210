#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOSSL

/// Reads the PEM files of the TLS settings: certificate chains, CA bundles and private keys.
///
/// Each file is opened once and checked through its descriptor (no window between the check
/// and the read); files larger than `maximumBytes` are refused. A private key file that group
/// or others may read is refused, and so is an encrypted key (nothing could type its
/// passphrase). Errors name the setting and the path, never a byte of the file.
public enum TLSFiles {
    /// The largest PEM file read (a CA bundle of every public root is about 220 KiB).
    public static let maximumBytes = 1024 * 1024

    /// The certificates of the PEM file at `path` (a chain, leaf first, or a CA bundle); at least one.
    public static func certificates(_ path: String, setting: String) throws(TLSFileError) -> [NIOSSLCertificate] {
        let bytes = try contents(path, setting: setting, isPrivateKey: false)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw .invalid(setting: setting, path: path, expected: "PEM certificates")
        }
        guard !certificates.isEmpty else { throw .invalid(setting: setting, path: path, expected: "PEM certificates") }
        return certificates
    }

    /// The private key in the PEM file at `path`, readable by its owner only.
    public static func privateKey(_ path: String, setting: String) throws(TLSFileError) -> NIOSSLPrivateKey {
        let bytes = try contents(path, setting: setting, isPrivateKey: true)
        do {
            // A passphrase cannot be asked for: an encrypted key fails here instead of waiting on a terminal.
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem) { (_: NIOSSLPassphraseSetter<[UInt8]>) throws in
                throw TLSFileError.encryptedKey(setting: setting, path: path)
            }
        } catch {
            throw .invalid(setting: setting, path: path, expected: "an unencrypted PEM private key")
        }
    }

    private static func contents(_ path: String, setting: String, isPrivateKey: Bool) throws(TLSFileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(setting: setting, path: path) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & mode_t(S_IFMT)) == mode_t(S_IFREG) else {
            throw .unreadable(setting: setting, path: path)
        }
        if isPrivateKey, status.st_mode & mode_t(S_IRGRP | S_IROTH) != 0 {
            throw .keyReadableByOthers(setting: setting, path: path)
        }
        guard status.st_size <= maximumBytes else { throw .tooLarge(setting: setting, path: path) }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw .unreadable(setting: setting, path: path) }
            filled += count
        }
        return bytes
    }
}

/// Why a TLS file or setting cannot be used; one line a person can act on, naming the
/// setting and the file, never what the file holds.
public enum TLSFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist, is not a regular file, or cannot be read.
    case unreadable(setting: String, path: String)
    /// The file is larger than `TLSFiles.maximumBytes`.
    case tooLarge(setting: String, path: String)
    /// The file does not hold what the setting needs.
    case invalid(setting: String, path: String, expected: String)
    /// A private key file that group or others may read.
    case keyReadableByOthers(setting: String, path: String)
    /// A private key protected by a passphrase.
    case encryptedKey(setting: String, path: String)
    /// The certificate and the key do not make a TLS identity (they do not match, or the
    /// key's type is not supported).
    case unusable(certificate: String, key: String)
    /// The CA bundle cannot be used to verify peers.
    case unusableCA(setting: String, path: String)

    public var description: String {
        switch self {
        case .unreadable(let setting, let path): "\(setting): cannot read \(path)"
        case .tooLarge(let setting, let path): "\(setting): \(path) is larger than \(TLSFiles.maximumBytes) bytes"
        case .invalid(let setting, let path, let expected): "\(setting): \(path) does not hold \(expected)"
        case .keyReadableByOthers(let setting, let path): "\(setting): \(path) may be read by group or others; make it readable by its owner only (chmod 600 \(path))"
        case .encryptedKey(let setting, let path): "\(setting): \(path) is encrypted; give the key without a passphrase"
        case .unusable(let certificate, let key): "the certificate \(certificate) and the key \(key) do not belong together"
        case .unusableCA(let setting, let path): "\(setting): the certificates of \(path) cannot be used to verify peers"
        }
    }
}
