import PBTestSupport
import Banana
import Logging
import NIOCore
import NIOEmbedded
@testable import PerspectiveBroker
import Testing

/// The client side of the broker in a `NIOAsyncTestingChannel`, with a server-role decoder reading its output.
@Suite("PB broker, client role (NIOAsyncTestingChannel)")
struct ClientBrokerTests {
    struct Harness {
        let channel: NIOAsyncTestingChannel
        let peer: NIOAsyncTestingChannel
        let broker: PBBroker

        static func open() async throws -> Harness {
            let channel = NIOAsyncTestingChannel()
            let broker = try await channel.testingEventLoop.submit {
                try PBChannelSetup.install(
                    on: channel, role: .client, settings: PBConnectionSettings(), root: nil,
                    connection: PBConnectionInfo(id: 2, remoteAddress: "test", isLoopback: true),
                    logger: Logger(label: "test.client"))
            }.get()
            let peer = try await NIOAsyncTestingChannel { channel in
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PBFrameDecoder(role: .server)))
            }
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
            var offer = ByteBuffer()
            PBEncoder.writeDialectOffer(into: &offer)
            try await channel.writeInbound(offer)
            return Harness(channel: channel, peer: peer, broker: broker)
        }

        func nextFrame() async throws -> PBFrame {
            try await PerspectiveBrokerTests.nextFrame(writtenBy: channel, decodedBy: peer)
        }

        func send(_ message: PBMessage) async throws {
            var buffer = ByteBuffer()
            try PBEncoder.write(message, dialect: .pb, into: &buffer) { _ in throw PBCallError.unsendable("test") }
            try await channel.writeInbound(buffer)
        }
    }

    @Test func choosesPBSendsItsVersionAndNumbersRequestsFromOne() async throws {
        let harness = try await Harness.open()
        guard case .dialectChoice(let choice) = try await harness.nextFrame() else {
            Issue.record("no dialect choice")
            return
        }
        #expect(choice == Array("pb".utf8))
        guard case .message(.version(6)) = try await harness.nextFrame() else {
            Issue.record("no version")
            return
        }
        let broker = harness.broker
        let call = Task {
            try await broker.call(.root, method: "login", arguments: [.bytes(Array("alice".utf8))], keywords: [:],
                                  answerRequired: true)
        }
        guard case .message(.call(let sent)) = try await harness.nextFrame() else {
            Issue.record("no call")
            return
        }
        #expect(sent.requestID == 1 && sent.object == .root && sent.method == "login")
        try await harness.send(.answer(requestID: 1, result: .int(7)))
        #expect(try await call.value == .int(7))
    }

    @Test func everyReceivedRemoteReferenceIsDecrefdExactlyOnce() async throws {
        let harness = try await Harness.open()
        _ = try await harness.nextFrame()
        _ = try await harness.nextFrame()
        let broker = harness.broker
        let call = Task {
            // Held only inside this task: dropped when it ends.
            let answer = try await broker.call(.root, method: "twice", arguments: [], keywords: [:], answerRequired: true)
            guard case .tuple(let items) = answer, items.count == 2,
                  case .object(let first) = items[0], case .object(let second) = items[1] else { return false }
            return first !== second && first is PBRemoteReference && second is PBRemoteReference
        }
        _ = try await harness.nextFrame()
        try await harness.send(.answer(requestID: 1, result: .tuple([.remote(5), .remote(5)])))
        #expect(try await call.value)
        var decrefs: [Int] = []
        for _ in 0..<2 {
            if case .message(.decref(let luid)) = try await harness.nextFrame() { decrefs.append(luid) }
        }
        #expect(decrefs == [5, 5])
    }

    @Test func aLostConnectionFailsPendingCallsAndLaterCallsAreDead() async throws {
        let harness = try await Harness.open()
        _ = try await harness.nextFrame()
        _ = try await harness.nextFrame()
        let broker = harness.broker
        let call = Task {
            try await broker.call(.root, method: "slow", arguments: [], keywords: [:], answerRequired: true)
        }
        _ = try await harness.nextFrame()
        try await harness.channel.close()
        await #expect(throws: PBCallError.self) { _ = try await call.value }
        do {
            _ = try await broker.call(.root, method: "late", arguments: [], keywords: [:], answerRequired: true)
            Issue.record("a call on a closed connection succeeded")
        } catch PBCallError.deadReference {
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
