import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// Full work queues fail fast with a precise error instead of waiting in memory.
@Suite("Bounded work queues", .serialized)
struct OverloadTests {
    @Test func brokerCallsPastAFullDatabaseQueueFailWithOverloadedAndTheMasterGoesOn() async throws {
        let cluster = try Cluster()
        let masterPort = try cluster.startMaster(extra: ["--set", "database_threads=1", "--set", "database_queue=1"]).port
        try cluster.addUser("alice", password: "wonderland")
        let broker = try cluster.addBroker("edge1")
        let (connection, avatar) = try await Client.login(masterPort, "edge1", broker.token)
        // 300 checks at once: one runs, one waits, the others are refused at once.
        let failures = await withTaskGroup(of: JellyFailure?.self) { group in
            for _ in 0..<300 {
                group.addTask {
                    await remoteFailure {
                        try await avatar.callRemote("account_status", .string("alice"))
                    }
                }
            }
            var failures: [JellyFailure] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        #expect(!failures.isEmpty, "no call was refused with a queue of 1")
        #expect(failures.allSatisfy { $0.type == "pbauth.Overloaded" }, "\(Set(failures.map(\.type)))")
        #expect(failures.first?.check("twisted.cred.error.UnauthorizedLogin") == true)
        // Once the queue drains, the same connection is served again.
        let status = try await avatar.callRemote("account_status", .string("alice"))
        #expect(status.dictionaryValue?["username"]?.stringValue == "alice")
        await connection.close()
    }
}
