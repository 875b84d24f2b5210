import AccountStore
import Banana
import Logging
import TestSupport
import Testing

@testable import PBAuthMaster
@testable import PerspectiveBroker

/// `authenticate` carries a password in clear: only over TLS or from loopback, unless configured.
@Suite("authenticate and the transport")
struct MasterRootMethodsTests {
    static func master(in folder: TemporaryDirectory) throws -> MasterChecker {
        try TestMaster.make(in: folder).checker
    }

    static func context(loopback: Bool, tls: Bool = false) -> PBCallContext {
        PBCallContext(connection: PBConnectionInfo(id: 1, remoteAddress: loopback ? "127.0.0.1:4000" : "192.0.2.7:4000",
                                                   isLoopback: loopback, isTLS: tls), broker: nil)
    }

    @Test(arguments: [
        (loopback: false, tls: false, allowRemote: false, accepted: false),
        (loopback: true, tls: false, allowRemote: false, accepted: true),
        (loopback: false, tls: true, allowRemote: false, accepted: true),
        (loopback: false, tls: false, allowRemote: true, accepted: true),
    ])
    func authenticateNeedsLoopbackTLSOrTheSetting(loopback: Bool, tls: Bool, allowRemote: Bool, accepted: Bool) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let checker = try Self.master(in: folder)
        let root = MasterRootMethods(checker: checker, allowRemote: allowRemote, logger: Logger(label: "test"))
        do {
            let status = try await root.remoteMessage("authenticate", arguments: [.string("alice"), .string("pw")], keywords: [:],
                                                      context: Self.context(loopback: loopback, tls: tls))
            #expect(accepted)
            #expect(status.dictionaryValue?["cookie"]?.stringValue != nil)
        } catch let failure as JellyFailure {
            #expect(!accepted)
            #expect(failure.type == "twisted.cred.error.UnauthorizedLogin")
        }
        await checker.close()
    }
}
