import Banana
import Foundation
import Logging
import NIOPosix
import PBAuthProtocol
import PerspectiveBroker
import TestSupport

/// Daemons with TLS listeners and upstream links, and Swift TLS clients, for `TLSTests`.
extension Cluster {
    /// Starts a master with `settings` (each `--set KEY=VALUE`; no `--listen` flag, so
    /// `listen` comes from the settings); answers its plain and TLS ports, each when it listens.
    func startTLSMaster(_ settings: [String: String]) throws -> (process: RunningProcess, plain: Int?, tls: Int?) {
        let process = try startDaemon(["master", "--database", database, "--set", "scrypt_ln=4", "--set", "flush_interval_ms=50"]
            + Self.unthrottled + Self.sets(settings), environment: Self.testScrypt)
        let (plain, tls) = try ports(of: process, role: "master", settings: settings)
        return (process, plain, tls)
    }

    /// Starts a subordinate of `upstreamPort` with `settings`; waits until its upstream link
    /// is up when `waitForUpstream`.
    func startTLSSubordinate(upstreamPort: Int, broker: String, tokenFile: String, _ settings: [String: String],
                             waitForUpstream: Bool = true) throws -> (process: RunningProcess, plain: Int?, tls: Int?) {
        let process = try startDaemon(["subordinate", "--upstream", "127.0.0.1:\(upstreamPort)", "--broker", broker,
                                       "--token-file", tokenFile, "--set", "reconnect_max_delay_ms=200"]
            + Self.unthrottled + Self.sets(settings))
        let (plain, tls) = try ports(of: process, role: "subordinate", settings: settings)
        if waitForUpstream {
            guard process.waitForLine(timeout: 20, where: { $0.contains("upstream connected") }) != nil else {
                throw ClusterError.didNotStart("subordinate \(broker) never connected upstream:\n" + process.standardError.joined(separator: "\n"))
            }
        }
        return (process, plain, tls)
    }

    private func ports(of process: RunningProcess, role: String, settings: [String: String]) throws -> (plain: Int?, tls: Int?) {
        let plain = settings["listen"] == "off" ? nil : try Self.listeningPort(of: process, role: role)
        let tls = settings["tls_listen"] == nil ? nil : try Self.tlsPort(of: process, role: role)
        return (plain, tls)
    }

    static func sets(_ settings: [String: String]) -> [String] {
        settings.sorted { $0.key < $1.key }.flatMap { ["--set", "\($0.key)=\($0.value)"] }
    }

    /// The port of the line `pbauth ROLE listening for TLS on 127.0.0.1:PORT`.
    static func tlsPort(of process: RunningProcess, role: String) throws -> Int {
        try loggedPort(of: process, "pbauth \(role) listening for TLS on", failure: "\(role) did not listen for TLS")
    }
}

extension TestPKI {
    /// The settings of a TLS listener with the server certificate.
    var listenerSettings: [String: String] {
        ["tls_listen": "127.0.0.1:0", "tls_certificate": serverCertificate, "tls_key": serverKey]
    }
}

/// Swift PB clients over TLS.
enum TLSClient {
    static let quiet = Logger(label: "tls-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A client context that trusts `ca` (default: the PKI's CA), with the client certificate when `withCertificate`.
    static func context(_ pki: TestPKI, ca: String? = nil, withCertificate: Bool = false) throws -> TLSClientContext {
        try TLSClientContext(settings: TLSClientSettings(
            ca: ca ?? pki.ca, certificate: withCertificate ? pki.clientCertificate : nil, key: withCertificate ? pki.clientKey : nil),
            logger: quiet)
    }

    /// Connects over TLS to 127.0.0.1:`port`, verifying the server as `name`.
    static func connect(_ port: Int, _ context: TLSClientContext, name: String = "127.0.0.1", note: TLSFailureNote? = nil,
                        handshakeTimeout: Duration = .seconds(30)) async throws -> PBClientConnection {
        try await PBClientConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton,
                                             handshakeTimeout: handshakeTimeout, transport: context.transport(serverName: name, note: note))
    }

    /// `authenticate(username, password)` at the master over TLS; answers the status.
    static func authenticate(_ port: Int, _ context: TLSClientContext, _ username: String, _ password: String) async throws -> JellyValue {
        let connection = try await connect(port, context)
        defer { Task { await connection.close() } }
        return try await connection.root.callRemote("authenticate", .string(username), .string(password))
    }

    /// A cookie (or password) login over TLS; answers the connection and the avatar.
    static func login(_ port: Int, _ context: TLSClientContext, _ username: String, _ secret: String) async throws -> (PBClientConnection, PBRemoteReference) {
        let connection = try await connect(port, context)
        do {
            return (connection, try await connection.login(username: Array(username.utf8), secret: Array(secret.utf8)))
        } catch {
            await connection.close()
            throw error
        }
    }
}

/// What `openssl s_client` saw of a TLS listener.
struct ServedTLS {
    let succeeded: Bool
    let output: String

    /// Connects to 127.0.0.1:`port` verifying against `ca`, with `extra` arguments (e.g. `-tls1_2`).
    static func probe(_ port: Int, ca: String, extra: [String] = []) throws -> ServedTLS {
        let outcome = try ChildProcess.run(TestPKI.opensslPath, [
            "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-CAfile", ca, "-verify_return_error",
        ] + extra, input: "", timeout: 30)
        let output = outcome.standardOutput + outcome.standardError
        return ServedTLS(succeeded: outcome.status == 0 && output.contains("Verify return code: 0 (ok)") && !output.contains("Cipher is (NONE)"),
                         output: output)
    }

    /// The served leaf certificate's subject line.
    var subject: String? {
        output.split(separator: "\n").first { $0.hasPrefix("subject=") }.map(String.init)
    }

    /// The protocol version and cipher, from the line "New, TLSv1.3, Cipher is ...".
    var negotiated: String? {
        output.split(separator: "\n").first { $0.hasPrefix("New, ") }.map(String.init)
    }
}
