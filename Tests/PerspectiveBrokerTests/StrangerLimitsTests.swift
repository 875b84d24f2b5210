import Banana
import NIOCore
import PBTestSupport
@testable import PerspectiveBroker
import Synchronization
import Testing

/// A root whose `wait` calls count themselves and wait until the gate opens.
final class GateRoot: PBReferenceable {
    let started = Atomic<Int>(0)
    let isOpen = Atomic<Bool>(false)

    func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary,
                       context: PBCallContext) async throws -> JellyValue {
        started.wrappingAdd(1, ordering: .relaxed)
        for _ in 0..<2_000 where !isOpen.load(ordering: .relaxed) {
            try await Task.sleep(for: .milliseconds(5))
        }
        return .none
    }
}

@Suite("Stranger limits: what a connection may do before it logs in")
struct StrangerLimitsTests {
    static let strangers = PBStrangerLimits()

    /// The response alice sends to the challenge in `answer` (a login's `(challenge, challenger)`).
    static func challenger(in message: PBMessage?) -> (challenge: [UInt8], luid: Int)? {
        guard case .answer(_, .tuple(let parts)) = message, parts.count == 2,
              let challenge = parts[0].bytesValue, case .remote(let luid) = parts[1] else { return nil }
        return (challenge, luid)
    }

    @Test func aStrangerMessageOverTwoKibibytesClosesTheConnection() async throws {
        let harness = try await BrokerHarness.openServer(root: PBPortalRoot(portal: TestPortal()), strangers: Self.strangers)
        try await harness.call(1, .root, "login", [.bytes(Array(repeating: 0x61, count: 3_000))])
        #expect(await harness.isClosedEventually())
    }

    @Test func aUsernameOverSixtyFourBytesIsRefusedBeforeAChallengerIsKept() async throws {
        let harness = try await BrokerHarness.openServer(root: PBPortalRoot(portal: TestPortal()), strangers: Self.strangers)
        try await harness.call(1, .root, "login", [.bytes(Array(repeating: 0x61, count: 65))])
        await harness.channel.testingEventLoop.run()
        guard case .error(1, .failure(let failure)) = try await harness.nextMessage() else {
            Issue.record("a 65-byte username was not refused")
            return
        }
        #expect(failure.type == "twisted.cred.error.UnauthorizedLogin")
        try await harness.call(2, .root, "login", [.bytes(Array(repeating: 0x61, count: 64))])
        await harness.channel.testingEventLoop.run()
        #expect(Self.challenger(in: try await harness.nextMessage()) != nil, "a 64-byte username got no challenge")
        #expect(harness.channel.isActive)
    }

    @Test func atMostFourChallengersAreOutstandingAndHoardersAreClosed() async throws {
        let harness = try await BrokerHarness.openServer(root: PBPortalRoot(portal: TestPortal()), strangers: Self.strangers)
        for requestID in 1...4 {
            try await harness.call(requestID, .root, "login", [.bytes(Array("alice".utf8))])
            await harness.channel.testingEventLoop.run()
            #expect(Self.challenger(in: try await harness.nextMessage()) != nil, "login \(requestID) got no challenge")
        }
        for requestID in 5...7 {
            try await harness.call(requestID, .root, "login", [.bytes(Array("alice".utf8))])
            await harness.channel.testingEventLoop.run()
            guard case .error(requestID, .failure(let failure)) = try await harness.nextMessage() else {
                Issue.record("login \(requestID) was not refused")
                return
            }
            #expect(failure.value == "Maximum PB reference count exceeded.")
        }
        try await harness.call(8, .root, "login", [.bytes(Array("alice".utf8))])
        #expect(await harness.isClosedEventually(), "the fourth refusal did not close the connection")
    }

    @Test func aLoginLiftsTheStrangerLimits() async throws {
        let harness = try await BrokerHarness.openServer(root: PBPortalRoot(portal: TestPortal()), strangers: Self.strangers)
        try await harness.call(1, .root, "login", [.bytes(Array("alice".utf8))])
        await harness.channel.testingEventLoop.run()
        guard let (challenge, luid) = Self.challenger(in: try await harness.nextMessage()) else {
            Issue.record("no challenge")
            return
        }
        let response = PBLoginChallenge.response(secret: Array("sesame".utf8), challenge: challenge)
        try await harness.call(2, .luid(luid), "respond", [.bytes(response), .none])
        await harness.channel.testingEventLoop.run()
        guard case .answer(2, .remote(let avatar)) = try await harness.nextMessage() else {
            Issue.record("no avatar")
            return
        }
        // 100 kB in one message, and ten exported children: far past the stranger limits.
        try await harness.call(3, .luid(avatar), "echo", [.bytes(Array(repeating: 0x62, count: 100_000))])
        await harness.channel.testingEventLoop.run()
        guard case .answer(3, let echoed) = try await harness.nextMessage() else {
            Issue.record("the large echo was not answered")
            return
        }
        #expect(echoed.arrayValue?.first?.bytesValue?.count == 100_000)
        for requestID in 4...13 {
            try await harness.call(requestID, .luid(avatar), "newChild")
            await harness.channel.testingEventLoop.run()
            guard case .answer(requestID, .remote) = try await harness.nextMessage() else {
                Issue.record("child \(requestID) was not exported")
                return
            }
        }
        #expect(harness.channel.isActive)
    }

    @Test func aStrangerHasAtMostFourCallsRunningAndTheRestWaitAsBytes() async throws {
        let root = GateRoot()
        let harness = try await BrokerHarness.openServer(root: root, strangers: Self.strangers)
        var burst = ByteBuffer()
        for requestID in 1...10 {
            try PBEncoder.write(.call(PBCall(requestID: requestID, object: .root, method: "wait")), dialect: .pb, into: &burst) { _ in
                throw PBCallError.unsendable("test")
            }
        }
        try await harness.channel.writeInbound(burst)
        for _ in 0..<20 {
            await harness.channel.testingEventLoop.run()
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(root.started.load(ordering: .relaxed) == 4)
        root.isOpen.store(true, ordering: .relaxed)
        var answered = 0
        for _ in 0..<10 {
            await harness.channel.testingEventLoop.run()
            if case .answer = try await harness.nextMessage() { answered += 1 }
        }
        #expect(answered == 10)
        #expect(root.started.load(ordering: .relaxed) == 10)
    }
}
