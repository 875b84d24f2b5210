import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// A master and a chain of two subordinates (master <- edge1 <- edge2), driven by our Swift PB client.
@Suite("Recursive authentication end to end", .serialized)
struct RecursiveLoginTests {
    let cluster: Cluster
    let masterPort: Int
    let edge1Port: Int
    let edge2Port: Int

    init() throws {
        cluster = try Cluster()
        // PB password logins are recorded in the database when the master starts;
        // a password set while they are on gets a PB verifier.
        masterPort = try cluster.startMaster(extra: ["--pb-password-login"]).port
        try cluster.addUser("alice", password: "correct horse")
        let edge1 = try cluster.addBroker("edge1")
        let edge2 = try cluster.addBroker("edge2")
        edge1Port = try cluster.startSubordinate(upstreamPort: masterPort, broker: "edge1", tokenFile: edge1.file).port
        edge2Port = try cluster.startSubordinate(upstreamPort: edge1Port, broker: "edge2", tokenFile: edge2.file).port
    }

    @Test func passwordAtTheMasterGivesACookieThatWorksAtEveryBroker() async throws {
        let status = try await Client.authenticate(masterPort, "alice", "correct horse")
        let fields = try #require(status.dictionaryValue)
        #expect(fields["username"]?.stringValue == "alice")
        #expect(fields["kind"]?.stringValue == "user")
        #expect(fields["master"]?.boolValue == true)
        let session = try #require(fields["session"]?.stringValue)
        let cookie = try #require(fields["cookie"]?.stringValue)
        #expect(!session.isEmpty && cookie.count >= 40)
        #expect((fields["expires"]?.intValue ?? 0) > Int(Date().timeIntervalSince1970))

        for port in [masterPort, edge1Port, edge2Port] {
            let (connection, avatar) = try await Client.login(port, "alice", cookie)
            let whoami = try #require(try await avatar.callRemote("whoami").dictionaryValue)
            #expect(whoami["session"]?.stringValue == session)
            #expect(whoami["master"]?.boolValue == false)
            #expect(whoami["cookie"] == nil)
            // A cookie login has no cookie to hand out.
            let failure = await remoteFailure { _ = try await avatar.callRemote("authentication_cookie") }
            #expect(failure?.type == "pbauth.NoAuthenticationCookie")
            await connection.close()
        }
    }

    @Test func aWrongSecretLooksTheSameWhateverTheReason() async throws {
        for (user, secret) in [("alice", "not the cookie"), ("nobody", "x")] {
            for port in [masterPort, edge2Port] {
                let failure = await remoteFailure { _ = try await Client.login(port, user, secret) }
                #expect(failure?.type == "twisted.cred.error.UnauthorizedLogin")
                #expect(failure?.check("twisted.cred.error.UnauthorizedLogin") == true)
                #expect(failure?.value == "")
            }
        }
    }

    @Test func pbPasswordLoginAtTheEdgeStartsASessionWithACookie() async throws {
        let (connection, avatar) = try await Client.login(edge2Port, "alice", "correct horse")
        let whoami = try #require(try await avatar.callRemote("whoami").dictionaryValue)
        #expect(whoami["master"]?.boolValue == true)
        let cookie = try #require(try await avatar.callRemote("authentication_cookie").stringValue)
        await connection.close()
        let (again, againAvatar) = try await Client.login(masterPort, "alice", cookie)
        let second = try #require(try await againAvatar.callRemote("whoami").dictionaryValue)
        #expect(second["session"] == whoami["session"])
        await again.close()
    }

    @Test func logoutAtTheEdgeEndsTheSessionAtEveryBroker() async throws {
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "correct horse").dictionaryValue?["cookie"]?.stringValue)
        let (connection, avatar) = try await Client.login(edge2Port, "alice", cookie)
        #expect(try await avatar.callRemote("logout") == .none)
        #expect(try await avatar.callRemote("logout") == .none)  // a second call does nothing
        await connection.close()
        for port in [masterPort, edge1Port, edge2Port] {
            let failure = await remoteFailure { _ = try await Client.login(port, "alice", cookie) }
            #expect(failure?.check("twisted.cred.error.UnauthorizedLogin") == true)
        }
    }

    @Test func aUserAvatarDoesNotAnswerBrokerMethods() async throws {
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "correct horse").dictionaryValue?["cookie"]?.stringValue)
        let (connection, avatar) = try await Client.login(edge1Port, "alice", cookie)
        let failure = await remoteFailure { _ = try await avatar.callRemote("get_account", .string("alice")) }
        #expect(failure?.check("builtins.AttributeError") == true)
        await connection.close()
    }

    @Test func theAuditLogRecordsThePathAndNoSecret() async throws {
        let cookie = try #require(try await Client.authenticate(masterPort, "alice", "correct horse").dictionaryValue?["cookie"]?.stringValue)
        let (connection, _) = try await Client.login(edge2Port, "alice", cookie)
        await connection.close()
        _ = await remoteFailure { _ = try await Client.login(edge2Port, "alice", "wrong") }
        // Written at the next flush (every 50 ms here): wait for the last record, at most 10 s.
        var audit = ""
        for _ in 0..<200 {
            audit = try cluster.admin(["audit", "--json", "--database", cluster.database])
            if audit.contains("pbauth.AuthenticationCookieMismatch") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!audit.contains(cookie))
        #expect(!audit.contains("correct horse"))
        #expect(audit.contains("edge2") && audit.contains("edge1"))
        #expect(audit.contains("pbauth.AuthenticationCookieMismatch"))
    }
}
