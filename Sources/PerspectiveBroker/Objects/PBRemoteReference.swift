import Banana

/// A reference to an object of the peer: the root, an avatar, a challenger, a child object.
///
/// Each `[remote, N]` received becomes one `PBRemoteReference`, which sends exactly one
/// `decref` when it is deinitialized; the root is never decref'd. Send it back to the same
/// connection (as an argument or answer) and the peer receives its own object.
public final class PBRemoteReference: JellyObject, CustomStringConvertible {
    let broker: PBBroker
    let objectID: PBObjectID

    init(broker: PBBroker, objectID: PBObjectID) {
        self.broker = broker
        self.objectID = objectID
    }

    deinit {
        if case .luid(let luid) = objectID { broker.releaseRemoteReference(luid) }
    }

    /// The connection the referenced object lives on.
    public var connection: PBConnectionInfo { broker.connection }

    /// Calls `method` with positional `arguments`; answers the peer's result.
    /// Throws `PBCallError.remoteFailure` for an error answer, `.connectionLost`, or `.deadReference`.
    public func callRemote(_ method: String, _ arguments: JellyValue..., keywords: JellyDictionary = [:]) async throws -> JellyValue {
        try await broker.call(objectID, method: method, arguments: arguments, keywords: keywords, answerRequired: true)
    }

    /// Calls `method` with `arguments` and `keywords` (keys sent as str); answers the peer's result.
    /// Throws `PBCallError.remoteFailure` for an error answer, `.connectionLost`, or `.deadReference`;
    /// with a `timeout`, `.timedOut` when no answer came in time (the connection stays open and a
    /// late answer is dropped).
    public func callRemote(_ method: String, arguments: [JellyValue], keywords: JellyDictionary,
                           timeout: Duration? = nil) async throws -> JellyValue {
        try await broker.call(objectID, method: method, arguments: arguments, keywords: keywords, answerRequired: true,
                              timeout: timeout)
    }

    /// Sends a call with answerRequired = 0: the peer runs it and answers nothing, not even failures.
    /// Throws only if the call could not be sent.
    public func callRemoteNoAnswer(_ method: String, arguments: [JellyValue] = [], keywords: JellyDictionary = [:]) async throws {
        _ = try await broker.call(objectID, method: method, arguments: arguments, keywords: keywords, answerRequired: false)
    }

    /// "PBRemoteReference(luid 2, connection 7 from 127.0.0.1:4242)".
    public var description: String {
        switch objectID {
        case .luid(let luid): "PBRemoteReference(luid \(luid), \(connection))"
        case .name(let name): "PBRemoteReference(\(String(decoding: name, as: UTF8.self)), \(connection))"
        }
    }
}
