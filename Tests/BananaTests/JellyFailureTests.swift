import Banana
import NIOCore
import TestSupport
import Testing

@Suite struct JellyFailureTests {
    static let unauthorizedParents = [
        "twisted.cred.error.UnauthorizedLogin", "twisted.cred.error.LoginFailed", "twisted.cred.error.Unauthorized",
        "builtins.Exception", "builtins.BaseException", "builtins.object",
    ]

    @Test func aLocalFailureIsSentWithTwistedsSynchronousKeySet() throws {
        let failure = JellyFailure(type: "twisted.cred.error.UnauthorizedLogin", value: "", parents: Self.unauthorizedParents)
        let wire = try messageBytes(.error(requestID: 2, failure: .failure(failure)))
        var decoder = try PBFrameDecoder(role: .client, limits: .twisted).afterOffer()
        let decoded = try frames(wire, &decoder)
        guard case .message(.error(2, let payload)) = decoded.first, let received = payload.failureValue else {
            Issue.record("not an error: \(decoded)"); return
        }
        #expect(received == failure)
        #expect(received.check("twisted.cred.error.UnauthorizedLogin"))
        #expect(received.check("builtins.Exception"))
        #expect(!received.check("twisted.spread.pb.Error"))
        #expect(received.description == "twisted.cred.error.UnauthorizedLogin: ")
        // Keys in the order of capture M13; type is bytes, value and parents are unicode.
        let state = try #require(try decodeJelly(Array(wire.dropFirst(6 + 4 + 33))).dictionaryValue)
        #expect(state.entries.map { $0.key.stringValue } == ["count", "type", "value", "captureVars", "tb", "unsafeTracebacks", "parents", "frames", "stack", "traceback"])
        #expect(state["type"] == .bytes(Array("twisted.cred.error.UnauthorizedLogin".utf8)))
        #expect(state["value"] == .string(""))
        #expect(state["parents"] == .list(Self.unauthorizedParents.map { .string($0) }))
        #expect(state["traceback"] == .string("Traceback unavailable\n"))
    }

    @Test func decodingIgnoresUnknownKeysAndOrder() throws {
        let state: JellyValue = .dictionary([
            "pickled": 1, "traceback": "tb text", "_frames": .list([]),
            "parents": .list(["x.Error", "builtins.object"]), "value": "boom", "type": .bytes(Array("x.Error".utf8)),
        ])
        var buffer = ByteBuffer()
        buffer.writeBytes(hexBytes("02 80 21 82 \"twisted.spread.pb.CopyableFailure\""))
        try Jelly.encode(state, into: &buffer)
        let failure = try #require(try Jelly.decode(from: &buffer).failureValue)
        #expect(failure == JellyFailure(type: "x.Error", value: "boom", parents: ["x.Error", "builtins.object"], traceback: "tb text"))
        // Re-encoding an unmodified received failure is byte-identical; a changed field is updated.
        var again = ByteBuffer()
        try Jelly.encode(.failure(failure), into: &again)
        var original = ByteBuffer()
        original.writeBytes(hexBytes("02 80 21 82 \"twisted.spread.pb.CopyableFailure\""))
        try Jelly.encode(state, into: &original)
        #expect(again == original)
        var changed = failure
        changed.value = "other"
        var changedBuffer = ByteBuffer()
        try Jelly.encode(.failure(changed), into: &changedBuffer)
        #expect(try Jelly.decode(from: &changedBuffer).failureValue?.value == "other")
    }

    @Test func aFailureWithoutTypeIsMalformed() throws {
        var buffer = ByteBuffer()
        buffer.writeBytes(hexBytes("02 80 21 82 \"twisted.spread.pb.CopyableFailure\""))
        try Jelly.encode(.dictionary(["value": "x"]), into: &buffer)
        #expect(throws: JellyError.self) { try Jelly.decode(from: &buffer) }
    }
}

extension PBFrameDecoder {
    /// Feeds a Twisted server's offer to a client decoder.
    func afterOffer() throws -> PBFrameDecoder {
        var decoder = self
        var offer = ByteBuffer()
        PBEncoder.writeDialectOffer(into: &offer)
        _ = try decoder.decodeFrame(from: &offer)
        return decoder
    }
}
