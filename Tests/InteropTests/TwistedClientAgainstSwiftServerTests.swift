import Synchronization
import PBTestSupport
import Testing

/// Stock Twisted `PBClientFactory` clients against the Swift `PBServer` with a `PBPortalRoot`.
@Suite("Twisted client -> Swift server", .serialized)
struct TwistedClientAgainstSwiftServerTests {
    @Test(arguments: [
        ["login_ok"], ["wrong_secret"], ["unknown_user"], ["echo"], ["shared"], ["error"], ["missing_method"],
        ["str_username"],
    ])
    func scenario(_ scenarios: [String]) async throws {
        let server = try await RunningTestServer.start()
        let outcome = try await TwistedFixtures.runClient(port: server.port, scenarios: scenarios)
        expectAllPassed(outcome, scenarios)
        // Every avatar handed out was logged out exactly once (release or disconnect).
        let portal = server.portal
        #expect(await eventually { portal.logouts.load(ordering: .relaxed) == portal.logins.load(ordering: .relaxed) })
        await server.stop()
    }

    @Test func hundredConcurrentClients() async throws {
        let server = try await RunningTestServer.start()
        let outcome = try await TwistedFixtures.runClient(port: server.port, scenarios: ["concurrent"])
        expectAllPassed(outcome, ["concurrent"])
        #expect(server.portal.logins.load(ordering: .relaxed) == 100)
        let portal = server.portal
        #expect(await eventually { portal.logouts.load(ordering: .relaxed) == 100 })
        await server.stop()
    }
}
