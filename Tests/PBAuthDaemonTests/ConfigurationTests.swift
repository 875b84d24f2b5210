import PBAuthDaemon
import PBAuthMaster
import PBAuthProtocol
import PBAuthSubordinate
import Foundation
import TestSupport
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    static let configFolder = BuiltProducts.packageRoot + "/config"

    @Test func theShippedMasterFileHoldsEveryKeyWithItsDefault() throws {
        let file = try ConfigurationFile(path: Self.configFolder + "/master.conf")
        #expect(Set(file.values.keys) == Set(MasterConfiguration.keys))
        let settings = try Settings(known: Set(MasterConfiguration.keys), file: file, environment: [:])
        #expect(try MasterConfiguration(settings: settings) == MasterConfiguration())
    }

    @Test func theShippedSubordinateFileHoldsEveryKey() throws {
        let file = try ConfigurationFile(path: Self.configFolder + "/subordinate.conf")
        #expect(Set(file.values.keys) == Set(SubordinateConfiguration.keys))
        // Its required settings are empty there, so they must come from elsewhere.
        let settings = try Settings(known: Set(SubordinateConfiguration.keys), file: file, environment: [:],
                                    overrides: ["upstream": "127.0.0.1:8787", "broker": "edge1", "token_file": "edge1.token"])
        var expected = SubordinateConfiguration()
        expected.upstream = Endpoint(host: "127.0.0.1", port: 8787)
        expected.broker = "edge1"
        expected.tokenFile = "edge1.token"
        #expect(try SubordinateConfiguration(settings: settings) == expected)
    }

    @Test func flagsBeatTheEnvironmentWhichBeatsTheFile() throws {
        let file = try ConfigurationFile(text: "listen = 10.0.0.1:1\nsession_lifetime = 60\nlockout_threshold = 3\n", origin: "test.conf")
        let known = Set(MasterConfiguration.keys)
        let environment = ["PBAUTH_LISTEN": "10.0.0.2:2", "PBAUTH_SESSION_LIFETIME": "120"]
        let settings = try Settings(known: known, file: file, environment: environment, overrides: ["listen": "10.0.0.3:3"])
        let configuration = try MasterConfiguration(settings: settings)
        #expect(configuration.listen == Endpoint(host: "10.0.0.3", port: 3))
        #expect(configuration.sessionLifetime == 120)
        #expect(configuration.lockoutThreshold == 3)
        #expect(configuration.scryptLogN == 17)
    }

    @Test func mistakesAreRefusedWithAMessageThatNamesThePlaceButNotTheValue() throws {
        let known = Set(MasterConfiguration.keys)
        #expect(throws: ConfigurationError.malformedLine(origin: "a.conf", line: 2)) {
            try ConfigurationFile(text: "listen = 127.0.0.1:1\nno equals sign\n", origin: "a.conf")
        }
        #expect(throws: ConfigurationError.duplicateKey(origin: "a.conf", key: "listen")) {
            try ConfigurationFile(text: "listen = 1.1.1.1:1\nlisten = 2.2.2.2:2\n", origin: "a.conf")
        }
        let typo = try ConfigurationFile(text: "sesion_lifetime = 5\n", origin: "a.conf")
        #expect(throws: ConfigurationError.unknownKey(origin: "a.conf", key: "sesion_lifetime")) {
            try Settings(known: known, file: typo, fileOrigin: "a.conf", environment: [:])
        }
        let secretish = try Settings(known: known, file: nil, environment: ["PBAUTH_SESSION_LIFETIME": "hunter2"])
        do {
            _ = try MasterConfiguration(settings: secretish)
            Issue.record("an invalid number was accepted")
        } catch let error as ConfigurationError {
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.contains("session_lifetime"))
        }
        #expect(throws: ConfigurationError.missing(key: "upstream", hint: "--upstream HOST:PORT")) {
            try SubordinateConfiguration(settings: try Settings(known: Set(SubordinateConfiguration.keys), file: nil, environment: [:]))
        }
    }

    @Test func tlsSettingsComeFromTheFileTheEnvironmentAndFlags() throws {
        let file = try ConfigurationFile(text: "listen = off\ntls_listen = 0.0.0.0:8443\ntls_certificate = a.pem\n", origin: "tls.conf")
        let environment = ["PBAUTH_TLS_KEY": "a.key", "PBAUTH_TLS_CLIENT_CA": "ca.pem"]
        let master = try MasterConfiguration(settings: try Settings(known: Set(MasterConfiguration.keys), file: file,
                                                                    environment: environment, overrides: ["tls_certificate": "b.pem"]))
        #expect(master.listen == nil)
        #expect(master.tls == TLSListenerSettings(listen: Endpoint(host: "0.0.0.0", port: 8443), certificate: "b.pem", key: "a.key", clientCA: "ca.pem"))

        let subordinate = try SubordinateConfiguration(settings: try Settings(
            known: Set(SubordinateConfiguration.keys), file: nil, environment: ["PBAUTH_UPSTREAM_TLS": "true", "PBAUTH_UPSTREAM_CA": "ca.pem"],
            overrides: ["upstream": "auth.example.net:8443", "broker": "edge1", "token_file": "t", "upstream_server_name": "auth.example.net"]))
        #expect(subordinate.upstreamTLS.enabled)
        #expect(subordinate.upstreamTLS.clientSettings == TLSClientSettings(ca: "ca.pem"))
        #expect(subordinate.upstreamTLS.serverName(for: "10.0.0.5") == "auth.example.net")
        #expect(subordinate.listen == Endpoint(host: "127.0.0.1", port: 8788))
        #expect(SubordinateConfiguration().upstreamTLS.clientSettings == nil)

        #expect(throws: ConfigurationError.invalidValue(key: "listen", expected: "HOST:PORT (port 0 to 65535) or off")) {
            try MasterConfiguration(settings: try Settings(known: Set(MasterConfiguration.keys), file: nil, environment: ["PBAUTH_LISTEN": "of"]))
        }
    }

    @Test func endpointsParse() {
        #expect(Endpoint("127.0.0.1:8787") == Endpoint(host: "127.0.0.1", port: 8787))
        #expect(Endpoint("[::1]:9") == Endpoint(host: "::1", port: 9))
        #expect(Endpoint("[::1]:9")?.description == "[::1]:9")
        #expect(Endpoint("host") == nil)
        #expect(Endpoint(":80") == nil)
        #expect(Endpoint("h:70000") == nil)
    }
}
