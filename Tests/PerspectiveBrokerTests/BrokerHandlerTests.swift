import PBTestSupport
import Banana
import Logging
import NIOCore
import NIOEmbedded
@testable import PerspectiveBroker
import Synchronization
import Testing

struct TimedOut: Error {}

/// `body`'s result, or `TimedOut` after `seconds`. Unstructured on purpose: a task group
/// would wait for a `body` that ignores cancellation (a testing channel's
/// `waitForOutboundWrite` does), so the timeout would not end the test.
func withTimeout<T: Sendable>(seconds: Int = 10, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let once = ResumeOnce(continuation)
        let work = Task {
            do { once.resume(with: .success(try await body())) } catch { once.resume(with: .failure(error)) }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            work.cancel()
            once.resume(with: .failure(TimedOut()))
        }
    }
}

/// Resumes a continuation with the first result it is given; later ones are dropped.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<T, any Error>) {
        continuation.withLock { waiting in
            defer { waiting = nil }
            return waiting
        }?.resume(with: result)
    }
}

/// The next frame `channel` wrote, passed through `peer`'s frame decoder (bounded wait).
func nextFrame(writtenBy channel: NIOAsyncTestingChannel, decodedBy peer: NIOAsyncTestingChannel) async throws -> PBFrame {
    try await withTimeout {
        while true {
            if let frame = try await peer.readInbound(as: PBFrame.self) { return frame }
            let written = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            try await peer.writeInbound(written)
        }
    }
}

/// A server-side broker in a `NIOAsyncTestingChannel`, and a client-role frame decoder that
/// reads what it writes.
struct BrokerHarness {
    let channel: NIOAsyncTestingChannel
    let peer: NIOAsyncTestingChannel

    static func server(root: any PBReferenceable = EchoAvatar(), maxExportedObjects: Int = 1024,
                       strangers: PBStrangerLimits? = nil) async throws -> BrokerHarness {
        let channel = try await NIOAsyncTestingChannel { channel in
            _ = try PBChannelSetup.install(
                on: channel, role: .server,
                settings: PBConnectionSettings(maxExportedObjects: maxExportedObjects, strangers: strangers),
                root: root, connection: PBConnectionInfo(id: 1, remoteAddress: "test", isLoopback: true),
                logger: Logger(label: "test.broker"))
        }
        let peer = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PBFrameDecoder(role: .client)))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return BrokerHarness(channel: channel, peer: peer)
    }

    /// Server side after the handshake: offer read, "pb" chosen, version read.
    static func openServer(root: any PBReferenceable = EchoAvatar(), maxExportedObjects: Int = 1024,
                           strangers: PBStrangerLimits? = nil) async throws -> BrokerHarness {
        let harness = try await server(root: root, maxExportedObjects: maxExportedObjects, strangers: strangers)
        _ = try await harness.nextFrame()
        try await harness.send(bytes: [0x02, 0x82, 0x70, 0x62, 0x02, 0x80, 0x13, 0x87, 0x06, 0x81])
        _ = try await harness.nextFrame()
        return harness
    }

    /// The next frame the broker wrote (bounded wait).
    func nextFrame() async throws -> PBFrame {
        try await PerspectiveBrokerTests.nextFrame(writtenBy: channel, decodedBy: peer)
    }

    func nextMessage() async throws -> PBMessage? {
        if case .message(let message) = try await nextFrame() { return message }
        return nil
    }

    func send(bytes: [UInt8]) async throws {
        try await channel.writeInbound(ByteBuffer(bytes: bytes))
    }

    func send(_ message: PBMessage) async throws {
        var buffer = ByteBuffer()
        try PBEncoder.write(message, dialect: .pb, into: &buffer) { _ in throw PBCallError.unsendable("test") }
        try await channel.writeInbound(buffer)
    }

    func call(_ requestID: Int, _ object: PBObjectID = .root, _ method: String, _ arguments: [JellyValue] = [],
              answerRequired: Bool = true) async throws {
        try await send(.call(PBCall(requestID: requestID, object: object, method: method,
                                    answerRequired: answerRequired, arguments: arguments)))
    }

    func isClosedEventually() async -> Bool {
        for _ in 0..<500 {
            // Remote methods run as tasks on the channel's loop; a testing loop runs them only when told to.
            await channel.testingEventLoop.run()
            if !channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return !channel.isActive
    }
}

@Suite("PB broker handler (NIOAsyncTestingChannel)")
struct BrokerHandlerTests {
    @Test func serverOffersDialectsThenAnswersTheChoiceWithItsVersion() async throws {
        let harness = try await BrokerHarness.server()
        guard case .dialectOffer(let offer) = try await harness.nextFrame() else {
            Issue.record("first frame was not the dialect offer")
            return
        }
        #expect(offer == [Array("pb".utf8), Array("none".utf8)])
        try await harness.send(bytes: [0x02, 0x82, 0x70, 0x62])
        guard case .version(6) = try await harness.nextMessage() else {
            Issue.record("no version after the dialect choice")
            return
        }
    }

    @Test func loginIsAnsweredWithAChallengeAndAChallenger() async throws {
        let harness = try await BrokerHarness.openServer(root: PBPortalRoot(portal: TestPortal()))
        // M4 of the main capture: [message, 1, b"root", V:login, 1, [tuple, b"alice"], [dictionary]].
        try await harness.send(bytes: [0x07, 0x80, 0x1a, 0x87, 0x01, 0x81, 0x04, 0x82, 0x72, 0x6f, 0x6f, 0x74,
                                       0x14, 0x87, 0x01, 0x81, 0x02, 0x80, 0x0b, 0x87, 0x05, 0x82, 0x61, 0x6c,
                                       0x69, 0x63, 0x65, 0x01, 0x80, 0x05, 0x87])
        guard case .answer(1, .tuple(let parts)) = try await harness.nextMessage() else {
            Issue.record("login was not answered with a tuple")
            return
        }
        #expect(parts.count == 2)
        #expect(parts.first?.bytesValue?.count == 16)
        #expect(parts.last == .remote(1))
    }

    @Test func callsAreAnsweredByRequestID() async throws {
        let harness = try await BrokerHarness.openServer()
        try await harness.call(7, .root, "echo", [.string("x"), .int(2)])
        guard case .answer(7, let result) = try await harness.nextMessage() else {
            Issue.record("no answer for request 7")
            return
        }
        #expect(result == .tuple([.string("x"), .int(2)]))
    }

    @Test func noAnswerIsSentWhenNoneIsRequired() async throws {
        let harness = try await BrokerHarness.openServer()
        try await harness.call(1, .root, "fail", answerRequired: false)
        try await harness.call(2, .root, "echo", [.int(2)])
        guard case .answer(2, _) = try await harness.nextMessage() else {
            Issue.record("the first frame was not the answer to request 2")
            return
        }
    }

    @Test func unknownObjectIDIsAnInvalidObjectIDError() async throws {
        let harness = try await BrokerHarness.openServer()
        try await harness.call(1, .luid(999), "foo")
        guard case .error(1, .failure(let failure)) = try await harness.nextMessage() else {
            Issue.record("no error for an unknown object")
            return
        }
        #expect(failure.type == "twisted.spread.pb.Error")
        #expect(failure.value == "Invalid Object ID")
        #expect(harness.channel.isActive)
    }

    @Test func insecureArgumentsAreAnsweredWithInsecureJellyAndTheConnectionStays() async throws {
        let harness = try await BrokerHarness.openServer()
        // X37 addressed to root: echo([V:class, b'builtins.int']).
        try await harness.send(bytes: [0x07, 0x80, 0x1a, 0x87, 0x0f, 0x81, 0x04, 0x82] + Array("root".utf8)
                                   + [0x04, 0x82] + Array("echo".utf8)
                                   + [0x01, 0x81, 0x02, 0x80, 0x0b, 0x87, 0x02, 0x80, 0x02, 0x87, 0x0c, 0x82]
                                   + Array("builtins.int".utf8) + [0x01, 0x80, 0x05, 0x87])
        guard case .error(15, .failure(let failure)) = try await harness.nextMessage() else {
            Issue.record("no error for insecure arguments")
            return
        }
        #expect(failure.type == "twisted.spread.jelly.InsecureJelly")
        #expect(failure.value == "b'class'")
        try await harness.call(16, .root, "echo", [.int(1)])
        guard case .answer(16, _) = try await harness.nextMessage() else {
            Issue.record("the connection did not stay usable")
            return
        }
    }

    @Test func exportedObjectsAreCountedLimitedAndReleased() async throws {
        let harness = try await BrokerHarness.openServer(maxExportedObjects: 2)
        try await harness.call(1, .root, "getChild")
        try await harness.call(2, .root, "getChild")
        try await harness.call(3, .root, "newChild")
        var answers: [Int: JellyValue] = [:]
        for _ in 0..<3 {
            if case .answer(let id, let value) = try await harness.nextMessage() { answers[id] = value }
        }
        // The same object sent twice keeps its luid.
        #expect(answers[1] == .remote(1) && answers[2] == .remote(1))
        #expect(answers[3] == .remote(2))
        try await harness.call(4, .root, "newChild")
        guard case .error(4, .failure(let failure)) = try await harness.nextMessage() else {
            Issue.record("the limit was not enforced")
            return
        }
        #expect(failure.value == "Maximum PB reference count exceeded.")
        // luid 1 has two references: after two decrefs it is gone and there is room again.
        try await harness.send(.decref(luid: 1))
        try await harness.call(5, .luid(1), "ping", [.int(1)])
        guard case .answer(5, _) = try await harness.nextMessage() else {
            Issue.record("luid 1 vanished after one of two decrefs")
            return
        }
        try await harness.send(.decref(luid: 1))
        try await harness.call(6, .luid(1), "ping")
        guard case .error(6, _) = try await harness.nextMessage() else {
            Issue.record("luid 1 survived its last decref")
            return
        }
        try await harness.call(7, .root, "newChild")
        guard case .answer(7, .remote(3)) = try await harness.nextMessage() else {
            Issue.record("no room after the release (luids are never reused)")
            return
        }
    }

    @Test func aPeerThatKeepsHittingTheExportLimitIsDisconnected() async throws {
        let harness = try await BrokerHarness.openServer(maxExportedObjects: 1)
        try await harness.call(1, .root, "newChild")
        _ = try await harness.nextMessage()
        for requestID in 2...4 {
            try await harness.call(requestID, .root, "newChild")
            guard case .error(requestID, _) = try await harness.nextMessage() else {
                Issue.record("refusal \(requestID - 1) was not an error answer")
                return
            }
            #expect(harness.channel.isActive)
        }
        try await harness.call(5, .root, "newChild")
        #expect(await harness.isClosedEventually())
    }

    @Test func decrefOfAnUnknownObjectIsTolerated() async throws {
        let harness = try await BrokerHarness.openServer()
        try await harness.send(.decref(luid: 42))
        try await harness.call(1, .root, "echo")
        guard case .answer(1, _) = try await harness.nextMessage() else {
            Issue.record("the connection did not survive an unknown decref")
            return
        }
    }

    @Test func aWrongVersionClosesTheConnection() async throws {
        let harness = try await BrokerHarness.server()
        _ = try await harness.nextFrame()
        try await harness.send(bytes: [0x02, 0x82, 0x70, 0x62, 0x02, 0x80, 0x13, 0x87, 0x05, 0x81])
        #expect(await harness.isClosedEventually())
    }

    @Test func anAnswerForAnUnknownRequestClosesTheConnection() async throws {
        let harness = try await BrokerHarness.openServer()
        try await harness.send(.answer(requestID: 5, result: .none))
        #expect(await harness.isClosedEventually())
    }

    @Test(arguments: [
        [UInt8](repeating: 0xff, count: 8),                                 // invalid type bytes
        [0x02, 0x82, 0x70, 0x62] + [UInt8](repeating: 0x01, count: 65),     // 65-byte prefix
        [0x02, 0x82, 0x70, 0x62, 0x01, 0x80, 0x01, 0x00, 0x28, 0x82],       // string longer than 655360
        [0x02, 0x82, 0x78, 0x78],                                           // a dialect we did not offer
    ])
    func malformedInputClosesTheConnection(_ bytes: [UInt8]) async throws {
        let harness = try await BrokerHarness.server()
        _ = try await harness.nextFrame()
        try? await harness.send(bytes: bytes)
        #expect(await harness.isClosedEventually())
    }
}
