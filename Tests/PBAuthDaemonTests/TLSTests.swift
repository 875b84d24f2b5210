import Banana
import Foundation
import Logging
import NIOPosix
import PBAuthProtocol
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// TLS on every hop (issue 12): the daemons' TLS listeners and a subordinate's TLS upstream
/// link, with a CA and certificates made at run time by openssl, stock Twisted (twisted[tls])
/// as client and as upstream, and openssl's s_client for what is served.
@Suite("TLS on every hop", .serialized)
struct TLSTests {
    static let fixtures = BuiltProducts.packageRoot + "/Tests/PBAuthDaemonTests/Fixtures"

    static func python() throws -> String { try BuiltProducts.requireTwistedPython() }

    @Test func aStockTwistedClientOverTLSAtTheMasterAndAtASubordinateWithATLSUpstream() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "wonderland")
        let edge1 = try cluster.addBroker("edge1")
        // Only TLS: the plain listeners are off.
        let master = try cluster.startTLSMaster(pki.listenerSettings.merging(["listen": "off"]) { $1 })
        let masterTLS = try #require(master.tls)
        let edge = try cluster.startTLSSubordinate(upstreamPort: masterTLS, broker: "edge1", tokenFile: edge1.file, pki.listenerSettings.merging([
            "listen": "off", "upstream_tls": "true", "upstream_ca": pki.ca,
        ]) { $1 })
        #expect(edge.process.standardError.contains { $0.contains("upstream connected") && $0.contains("tls=true") })
        let edgeTLS = try #require(edge.tls)

        let outcome = try ChildProcess.run(try Self.python(), [
            Self.fixtures + "/twisted_tls_user_client.py", "\(masterTLS)", "\(edgeTLS)", pki.ca, "alice", "wonderland",
        ], timeout: 90)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
        // A password authenticate over TLS (accepted on a TLS connection), then cookie logins.
        #expect(report["status_keys"] as? [String] == ["cookie", "expires", "kind", "master", "session", "username"])
        #expect(report["master"] as? Bool == true)
        #expect(report["master_cookie_login"] as? String == "ok")
        #expect(report["master_whoami_session_matches"] as? Bool == true)
        #expect(report["edge_cookie_login"] as? String == "ok")
        #expect(report["edge_whoami_session_matches"] as? Bool == true)
        #expect(report["edge_whoami_has_cookie"] as? Bool == false)
        for key in ["wrong_cookie", "after_logout_edge", "after_logout_master"] {
            let pair = report[key] as? [Any] ?? []
            #expect(pair.first as? String == "refused", "\(key)")
            #expect(pair.last as? Bool == true, "\(key): failure.check(UnauthorizedLogin)")
        }
    }

    @Test func aTwistedPBServerOverTLSIsTheUpstreamOfASubordinate() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let tokenFile = folder.file("edge1.token")
        try Data("py-token\n".utf8).write(to: URL(fileURLWithPath: tokenFile))
        let master = try RunningProcess(try Self.python(), [
            Self.fixtures + "/twisted_master.py", "edge1", "py-token", "alice", "cookie-of-alice", pki.serverCertificate, pki.serverKey,
        ])
        defer { master.stop() }
        let masterPort = try #require(master.waitForLine(timeout: 30) { Int($0) != nil }.flatMap { Int($0) }, "\(master.standardError)")

        let cluster = try Cluster()
        let edge = try cluster.startTLSSubordinate(upstreamPort: masterPort, broker: "edge1", tokenFile: tokenFile, [
            "listen": "127.0.0.1:0", "upstream_tls": "true", "upstream_ca": pki.ca, "upstream_server_name": "localhost",
        ])
        let edgePort = try #require(edge.plain)
        let (connection, avatar) = try await Client.login(edgePort, "alice", "cookie-of-alice")
        #expect(try await avatar.callRemote("whoami").dictionaryValue?["session"]?.stringValue == "s-1")
        await connection.close()
        #expect(master.waitForLine(timeout: 10) { $0 == #"via ["edge1"]"# } != nil)
        let refused = await remoteFailure { _ = try await Client.login(edgePort, "alice", "cookie-of-bob") }
        #expect(refused?.type == "twisted.cred.error.UnauthorizedLogin")
    }

    @Test func mutualTLSWithAndWithoutAClientCertificate() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "wonderland")
        let edge1 = try cluster.addBroker("edge1")
        let master = try cluster.startTLSMaster(pki.listenerSettings.merging(["listen": "off", "tls_client_ca": pki.ca]) { $1 })
        let masterTLS = try #require(master.tls)

        // Without a client certificate: no PB at all, and the master counts the failed handshake.
        let note = TLSFailureNote()
        await #expect(throws: (any Error).self) {
            let connection = try await TLSClient.connect(masterTLS, try TLSClient.context(pki), note: note)
            _ = try await connection.root.callRemote("authenticate", .string("alice"), .string("wonderland"))
        }
        #expect(note.failure != nil)
        #expect(master.process.waitForLine(timeout: 10) { $0.contains("failed TLS handshakes") } != nil,
                "\(master.process.standardError.suffix(5))")

        // With one: the Swift client, a subordinate whose upstream link shows one, and stock Twisted.
        let withCertificate = try TLSClient.context(pki, withCertificate: true)
        let status = try await TLSClient.authenticate(masterTLS, withCertificate, "alice", "wonderland")
        let cookie = try #require(status.dictionaryValue?["cookie"]?.stringValue)
        let edge = try cluster.startTLSSubordinate(upstreamPort: masterTLS, broker: "edge1", tokenFile: edge1.file, pki.listenerSettings.merging([
            "listen": "off", "upstream_tls": "true", "upstream_ca": pki.ca,
            "upstream_certificate": pki.clientCertificate, "upstream_key": pki.clientKey,
        ]) { $1 })
        let edgeTLS = try #require(edge.tls)
        let (connection, avatar) = try await TLSClient.login(edgeTLS, try TLSClient.context(pki), "alice", cookie)
        #expect(try await avatar.callRemote("whoami").dictionaryValue?["username"]?.stringValue == "alice")
        await connection.close()

        let outcome = try ChildProcess.run(try Self.python(), [
            Self.fixtures + "/twisted_tls_user_client.py", "\(masterTLS)", "\(edgeTLS)", pki.ca, "alice", "wonderland",
            pki.clientCertificate, pki.clientKey,
        ], timeout: 90)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
        #expect(report["master_cookie_login"] as? String == "ok")
        #expect(report["edge_cookie_login"] as? String == "ok")
    }

    @Test func aSubordinateThatCannotVerifyItsUpstreamRefusesItsUsers() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "wonderland")
        let edge1 = try cluster.addBroker("edge1")
        let edge2 = try cluster.addBroker("edge2")
        let master = try cluster.startTLSMaster(pki.listenerSettings.merging(["listen": "127.0.0.1:0"]) { $1 })
        let masterTLS = try #require(master.tls)
        let cookie = try #require(try await TLSClient.authenticate(masterTLS, try TLSClient.context(pki), "alice", "wonderland")
            .dictionaryValue?["cookie"]?.stringValue)

        // The wrong CA, and the right CA with a name the certificate does not hold.
        let wrongCA = try cluster.startTLSSubordinate(upstreamPort: masterTLS, broker: "edge1", tokenFile: edge1.file, [
            "listen": "127.0.0.1:0", "upstream_tls": "true", "upstream_ca": pki.otherCA,
        ], waitForUpstream: false)
        let wrongName = try cluster.startTLSSubordinate(upstreamPort: masterTLS, broker: "edge2", tokenFile: edge2.file, [
            "listen": "127.0.0.1:0", "upstream_tls": "true", "upstream_ca": pki.ca, "upstream_server_name": "pbauth.example",
        ], waitForUpstream: false)
        for (edge, reason, token) in [(wrongCA, "CERTIFICATE_VERIFY_FAILED", edge1.token), (wrongName, "pbauth.example", edge2.token)] {
            // One line per attempt, retried with backoff (at most 200 ms here).
            let failed = { (line: String) in line.contains("upstream TLS handshake failed") && line.contains(reason) }
            #expect(edge.process.waitForLine(timeout: 20) { failed($0) } != nil, "\(edge.process.standardError.suffix(5))")
            let deadline = Date().addingTimeInterval(20)
            while edge.process.standardError.filter(failed).count < 3, Date() < deadline { usleep(50_000) }
            #expect(edge.process.standardError.filter(failed).count >= 3, "it keeps retrying")
            let edgePort = try #require(edge.plain)
            let refused = await remoteFailure { _ = try await Client.login(edgePort, "alice", cookie) }
            #expect(refused?.type == "twisted.cred.error.UnauthorizedLogin")
            #expect(!edge.process.standardError.contains { $0.contains("upstream connected") })
            // Nothing secret in its lines: not the cookie, not the token.
            #expect(!edge.process.standardError.contains { $0.contains(cookie) || $0.contains(token) })
        }
        // No login upstream: the master saw no broker login, only failed handshakes.
        #expect(!master.process.standardError.contains { $0.contains("kind=broker") })
        #expect(master.process.waitForLine(timeout: 10) { $0.contains("failed TLS handshakes") } != nil)
    }

    @Test func theTLSPortDoesNotServePlainPBAndKeepsTheStrangerLimits() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cluster = try Cluster()
        let master = try cluster.startTLSMaster(pki.listenerSettings.merging([
            "listen": "127.0.0.1:0", "idle_timeout": "2", "http_listen": "127.0.0.1:0",
        ]) { $1 })
        let tlsPort = try #require(master.tls)
        let http = try Cluster.httpPort(of: master.process, role: "master")

        // A stock PB client without TLS: nothing PB comes back; given up on within its handshake timeout.
        let clock = ContinuousClock()
        let started = clock.now
        await #expect(throws: (any Error).self) {
            _ = try await PBClientConnection.connect(host: "127.0.0.1", port: tlsPort, group: MultiThreadedEventLoopGroup.singleton,
                                                     handshakeTimeout: .seconds(3))
        }
        #expect(clock.now - started < .seconds(30))

        func peer(_ mode: String) throws -> [String: Any] {
            let outcome = try ChildProcess.run(try Self.python(), [Self.fixtures + "/tls_raw_peer.py", "\(tlsPort)", pki.ca, mode], timeout: 90)
            #expect(outcome.status == 0, "\(mode): \(outcome.standardError)")
            return try #require(try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
        }
        // Plain PB bytes: the handshake fails at once (not TLS), and the dialect offer never goes out in clear.
        let plain = try peer("plain-pb")
        #expect((plain["closed_after"] as? Double).map { $0 < 15 } == true, "\(plain)")
        #expect(plain["clear_dialect_offer"] as? Bool == false)
        #expect(master.process.waitForLine(timeout: 10) { $0.contains("failed TLS handshakes") && $0.contains("WRONG_VERSION_NUMBER") } != nil,
                "\(master.process.standardError.suffix(8))")
        // A TCP peer that never starts the handshake: closed by the stranger timeout (2 s here), with nothing sent.
        let silentTCP = try peer("silent-tcp")
        #expect((silentTCP["closed_after"] as? Double).map { $0 >= 1.5 && $0 < 15 } == true, "\(silentTCP)")
        #expect(silentTCP["received"] as? Int == 0)
        // A TLS peer that handshakes and then says nothing: the same stranger timeout.
        let silentTLS = try peer("silent-tls")
        #expect((silentTLS["closed_after"] as? Double).map { $0 >= 1.5 && $0 < 15 } == true, "\(silentTLS)")
        // Inside TLS a stranger may still send at most 2,048 bytes at once: closed.
        let oversized = try peer("oversized")
        #expect((oversized["closed_after"] as? Double).map { $0 < 15 } == true, "\(oversized)")
        #expect(master.process.waitForLine(timeout: 10) { $0.contains("closing PB connection") && $0.contains("2048") } != nil,
                "\(master.process.standardError.suffix(8))")
        // The silent peers count as failed handshakes too, in the same rate-limited lines.
        #expect(master.process.waitForLine(timeout: 10) {
            $0.contains("failed TLS handshakes") && $0.contains("closed before the handshake finished")
        } != nil, "\(master.process.standardError.suffix(8))")
        // And in the metrics: at least the plain PB peer and the silent TCP peer.
        let metrics = try #require(try await httpGet(port: http, "/metrics"))
        let failed = Cluster.metric("pbauth_tls_handshakes_failed_total", in: metrics.body)
        #expect(failed.map { $0 >= 2 } == true, "pbauth_tls_handshakes_failed_total = \(String(describing: failed))")
    }

    @Test func sighupRotatesTheCertificateWithoutDroppingConnections() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "wonderland")
        let served = (certificate: pki.folder.file("served.pem"), key: pki.folder.file("served.key"))
        try FileManager.default.copyItem(atPath: pki.serverCertificate, toPath: served.certificate)
        try FileManager.default.copyItem(atPath: pki.serverKey, toPath: served.key)
        let master = try cluster.startTLSMaster([
            "listen": "off", "tls_listen": "127.0.0.1:0", "tls_certificate": served.certificate, "tls_key": served.key,
        ])
        let port = try #require(master.tls)
        #expect(try ServedTLS.probe(port, ca: pki.ca).subject?.contains("pbauth test server") == true)

        // A logged-in connection made before the rotation.
        let context = try TLSClient.context(pki)
        let cookie = try #require(try await TLSClient.authenticate(port, context, "alice", "wonderland").dictionaryValue?["cookie"]?.stringValue)
        let (before, avatar) = try await TLSClient.login(port, context, "alice", cookie)
        defer { Task { await before.close() } }

        // New files, then SIGHUP: new connections get the new certificate; the old one goes on.
        let rotated = (certificate: pki.folder.file("rotated.pem"), key: pki.folder.file("rotated.key"))
        try pki.issue(certificate: rotated.certificate, key: rotated.key, commonName: "pbauth rotated server", server: true)
        try Self.replace(served.certificate, with: rotated.certificate)
        try Self.replace(served.key, with: rotated.key)
        kill(master.process.pid, SIGHUP)
        #expect(master.process.waitForLine(timeout: 20) { $0.contains("reloaded the TLS certificate and key") } != nil,
                "\(master.process.standardError.suffix(5))")
        let probe = try ServedTLS.probe(port, ca: pki.ca)
        #expect(probe.subject?.contains("pbauth rotated server") == true, "\(probe.output)")
        #expect(try await avatar.callRemote("whoami").dictionaryValue?["username"]?.stringValue == "alice")
        #expect(before.isConnected)

        // Bad new files (a key that others may read, then a certificate that is not one):
        // an error line each, the rotated certificate stays, and the daemon goes on.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: served.key)
        kill(master.process.pid, SIGHUP)
        #expect(master.process.waitForLine(timeout: 20) { $0.contains("could not reload") && $0.contains("group or others") } != nil,
                "\(master.process.standardError.suffix(5))")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: served.key)
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: served.certificate))
        kill(master.process.pid, SIGHUP)
        #expect(master.process.waitForLine(timeout: 20) { $0.contains("could not reload") && $0.contains("tls_certificate") } != nil,
                "\(master.process.standardError.suffix(5))")
        #expect(master.process.isRunning)
        #expect(try ServedTLS.probe(port, ca: pki.ca).subject?.contains("pbauth rotated server") == true)
        let (after, afterAvatar) = try await TLSClient.login(port, context, "alice", cookie)
        #expect(try await afterAvatar.callRemote("whoami").dictionaryValue?["username"]?.stringValue == "alice")
        await after.close()
        #expect(try await avatar.callRemote("whoami").dictionaryValue?["username"]?.stringValue == "alice")
    }

    /// Replaces `path` at once (rename) with a copy of `source`, mode 0600.
    static func replace(_ path: String, with source: String) throws {
        let staged = path + ".new"
        try? FileManager.default.removeItem(atPath: staged)
        try FileManager.default.copyItem(atPath: source, toPath: staged)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: staged)
        guard rename(staged, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    @Test func onlyTLS12AndNewerWithStrongSuites() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cluster = try Cluster()
        let master = try cluster.startTLSMaster(pki.listenerSettings.merging(["listen": "off"]) { $1 })
        let port = try #require(master.tls)
        let preferred = try ServedTLS.probe(port, ca: pki.ca)
        #expect(preferred.succeeded && preferred.negotiated?.contains("TLSv1.3") == true, "\(preferred.output)")
        let tls12 = try ServedTLS.probe(port, ca: pki.ca, extra: ["-tls1_2"])
        #expect(tls12.succeeded && tls12.negotiated?.contains("ECDHE-ECDSA-AES") == true && tls12.negotiated?.contains("GCM") == true,
                "\(tls12.output)")
        // Older versions and weak TLS 1.2 suites (CBC with SHA-1, no forward secrecy) are refused.
        for extra in [["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
                      ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"], ["-tls1_2", "-cipher", "AES128-GCM-SHA256"]] {
            let refused = try ServedTLS.probe(port, ca: pki.ca, extra: extra)
            #expect(!refused.succeeded, "\(extra) was accepted: \(refused.negotiated ?? "")")
        }
        #expect(master.process.waitForLine(timeout: 10) { $0.contains("failed TLS handshakes") } != nil)
    }

    /// Each a bad TLS setting at start, and a word its one error line must contain.
    static func badStarts() -> [(name: String, settings: (TestPKI, String) throws -> [String: String], expected: String)] { [
        ("missing certificate file", { pki, _ in pki.listenerSettings.merging(["tls_certificate": pki.folder.file("nothing.pem")]) { $1 } }, "tls_certificate"),
        ("not a certificate", { pki, folder in
            let path = folder + "/garbage.pem"
            try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: path))
            return pki.listenerSettings.merging(["tls_certificate": path]) { $1 }
        }, "tls_certificate"),
        ("group-readable key", { pki, folder in
            let path = folder + "/readable.key"
            try FileManager.default.copyItem(atPath: pki.serverKey, toPath: path)
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
            return pki.listenerSettings.merging(["tls_key": path]) { $1 }
        }, "group or others"),
        ("key of another certificate", { pki, _ in pki.listenerSettings.merging(["tls_key": pki.clientKey]) { $1 } }, "do not belong together"),
        ("no key", { pki, _ in ["tls_listen": "127.0.0.1:0", "tls_certificate": pki.serverCertificate] }, "tls_key"),
        ("no listener at all", { _, _ in ["listen": "off"] }, "tls_listen"),
        ("a certificate without tls_listen", { pki, _ in ["tls_certificate": pki.serverCertificate] }, "tls_listen"),
    ] }

    @Test func aBadTLSConfigurationStopsTheDaemonWithOneLine() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let cluster = try Cluster()
        let token = try cluster.addBroker("edge1")
        let secretMarker = "PRIVATE KEY"
        for bad in Self.badStarts() {
            let settings = try bad.settings(pki, cluster.folder.path)
            let outcome = try ChildProcess.run(cluster.pbauth, ["master", "--database", cluster.database] + Cluster.sets(settings), timeout: 30)
            let lines = outcome.standardError.split(separator: "\n").filter { !$0.isEmpty }
            #expect(outcome.status != 0, "\(bad.name): exit \(outcome.status)")
            #expect(lines.count == 1 && lines.first?.hasPrefix("pbauth: ") == true && lines.first?.contains(bad.expected) == true,
                    "\(bad.name): \(lines)")
            #expect(!outcome.standardError.contains(secretMarker))
        }
        // The subordinate's upstream settings.
        let garbage = cluster.folder.file("garbage-ca.pem")
        try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: garbage))
        let upstreamCases: [([String: String], String)] = [
            (["upstream_tls": "true"], "upstream_ca"),
            (["upstream_tls": "true", "upstream_ca": garbage], "upstream_ca"),
            (["upstream_ca": pki.ca], "upstream_tls"),
            (["upstream_tls": "true", "upstream_ca": pki.ca, "upstream_certificate": pki.clientCertificate], "upstream_key"),
            (["upstream_tls": "true", "upstream_ca": pki.ca, "upstream_server_name": "127.0.0.1"], "upstream_server_name"),
        ]
        for (settings, expected) in upstreamCases {
            let outcome = try ChildProcess.run(cluster.pbauth, [
                "subordinate", "--upstream", "127.0.0.1:9", "--broker", "edge1", "--token-file", token.file, "--listen", "127.0.0.1:0",
            ] + Cluster.sets(settings), timeout: 30)
            let lines = outcome.standardError.split(separator: "\n").filter { !$0.isEmpty }
            #expect(outcome.status != 0, "\(settings): exit \(outcome.status)")
            #expect(lines.count == 1 && lines.first?.hasPrefix("pbauth: ") == true && lines.first?.contains(expected) == true,
                    "\(settings): \(lines)")
        }
    }

    @Test func connectionsThroughTLSAreMarkedTLS() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let logger = TLSClient.quiet
        let tls = try TLSServerContext(settings: TLSListenerSettings(listen: Endpoint(host: "127.0.0.1", port: 0),
                                                                     certificate: pki.serverCertificate, key: pki.serverKey), logger: logger)
        let server = PBServer(configuration: PBServerConfiguration(), group: MultiThreadedEventLoopGroup.singleton, logger: logger) { _ in
            TransportEcho()
        }
        let plainPort = try await server.start()
        let tlsPort = try await server.start(host: "127.0.0.1", port: 0, transport: tls.transport)
        defer { Task { await server.stop(gracePeriod: .zero) } }

        let overTLS = try await TLSClient.connect(tlsPort, try TLSClient.context(pki))
        #expect(try await overTLS.root.callRemote("isTLS") == .bool(true))
        #expect(overTLS.connection.isTLS)
        let plain = try await PBClientConnection.connect(host: "127.0.0.1", port: plainPort, group: MultiThreadedEventLoopGroup.singleton)
        #expect(try await plain.root.callRemote("isTLS") == .bool(false))
        // Both listeners count against one server.
        #expect(server.connectionCount == 2)
        await overTLS.close()
        await plain.close()
        #expect(tls.failures.failedHandshakes == 0)
    }
}

/// A root that answers whether the call came over TLS.
private final class TransportEcho: PBReferenceable {
    func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary, context: PBCallContext) async throws -> JellyValue {
        guard method == "isTLS" else { throw PBCallError.noSuchMethod(method) }
        return .bool(context.connection.isTLS)
    }
}
