import Foundation

/// A small certificate authority made at run time with the `openssl` command-line tool, in
/// its own temporary folder: a CA, a server certificate for 127.0.0.1 and localhost, a
/// client certificate, and a second, unrelated CA. Keys are P-256, mode 0600. The caller
/// removes the folder (`remove()`, e.g. in a `defer`) once nothing reads the files any more.
public final class TestPKI: @unchecked Sendable {
    /// The folder that holds every file.
    public let folder: TemporaryDirectory
    /// The CA's certificate (the bundle that verifies the others).
    public let ca: String
    /// A server certificate signed by the CA, with the names IP:127.0.0.1 and DNS:localhost.
    public let serverCertificate: String
    /// Its key.
    public let serverKey: String
    /// A client certificate signed by the CA (CN=edge1).
    public let clientCertificate: String
    /// Its key.
    public let clientKey: String
    /// An unrelated CA that signed nothing here.
    public let otherCA: String
    private var serial = 0

    /// Makes the CA and the certificates; throws when openssl fails.
    public init() throws {
        folder = try TemporaryDirectory(prefix: "pbauth-pki")
        ca = folder.file("ca.pem")
        otherCA = folder.file("other-ca.pem")
        try Self.makeCA(certificate: ca, key: folder.file("ca.key"), name: "pbauth test CA", in: folder)
        try Self.makeCA(certificate: otherCA, key: folder.file("other-ca.key"), name: "unrelated test CA", in: folder)
        serverCertificate = folder.file("server.pem")
        serverKey = folder.file("server.key")
        clientCertificate = folder.file("client.pem")
        clientKey = folder.file("client.key")
        try issue(certificate: serverCertificate, key: serverKey, commonName: "pbauth test server", server: true)
        try issue(certificate: clientCertificate, key: clientKey, commonName: "edge1", server: false)
    }

    /// Deletes the folder and every file in it.
    public func remove() { folder.remove() }

    /// Issues a further certificate signed by the CA at `certificate` (its key at `key`):
    /// a server one for 127.0.0.1 and localhost, or a client one.
    public func issue(certificate: String, key: String, commonName: String, server: Bool) throws {
        serial += 1
        let request = folder.file("request-\(serial).csr")
        let extensions = folder.file("extensions-\(serial).cnf")
        let usage = server
            ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
            : "extendedKeyUsage=clientAuth\n"
        try Data((usage + "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n").utf8)
            .write(to: URL(fileURLWithPath: extensions))
        try Self.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", key, "-out", request, "-subj", "/CN=\(commonName)"])
        try Self.openssl(["x509", "-req", "-in", request, "-CA", ca, "-CAkey", folder.file("ca.key"),
                          "-set_serial", "\(1000 + serial)", "-days", "2", "-extfile", extensions, "-out", certificate])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
    }

    private static func makeCA(certificate: String, key: String, name: String, in folder: TemporaryDirectory) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=\(name)",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
    }

    /// Runs `openssl` with `arguments`; throws with its error output when it fails.
    @discardableResult
    public static func openssl(_ arguments: [String], input: String? = nil, timeout: TimeInterval = 30) throws -> ProcessOutcome {
        let outcome = try ChildProcess.run(opensslPath, arguments, input: input, timeout: timeout)
        guard outcome.status == 0 else { throw OpenSSLFailed(arguments: arguments, output: outcome.standardError) }
        return outcome
    }

    /// The openssl tool (installed by `.ci/run` where it is missing).
    public static var opensslPath: String {
        ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/openssl"
    }
}

/// `openssl` exited with an error.
public struct OpenSSLFailed: Error, CustomStringConvertible {
    /// Its arguments.
    public let arguments: [String]
    /// What it printed on standard error.
    public let output: String

    public var description: String { "openssl \(arguments.joined(separator: " ")) failed: \(output)" }
}
