/// The object a call is addressed to: a luid from the receiver's table, or a name such as `root`.
public enum PBObjectID: Sendable, Hashable {
    /// An object the receiver exported under this luid.
    case luid(Int)
    /// A named object; PB servers register their root as `b"root"`.
    case name([UInt8])

    /// The root object every PB server has.
    public static let root = PBObjectID.name(Array("root".utf8))
}

/// A remote method call (`message`, or `cachemessage` when `isCacheMessage`).
public struct PBCall: Sendable, Hashable {
    /// The caller's request id (1, 2, 3… per connection and direction).
    public var requestID: Int
    /// The object the method is called on.
    public var object: PBObjectID
    /// The method name (UTF-8; `remote_`/`perspective_` are not part of it).
    public var method: String
    /// Whether the caller waits for an `answer` or `error`.
    public var answerRequired: Bool
    /// The positional arguments (sent as a tuple).
    public var arguments: [JellyValue]
    /// The keyword arguments (keys are sent as Python `str`).
    public var keywords: JellyDictionary
    /// `cachemessage` instead of `message`.
    public var isCacheMessage: Bool

    /// Makes a call.
    public init(requestID: Int, object: PBObjectID, method: String, answerRequired: Bool = true,
                arguments: [JellyValue] = [], keywords: JellyDictionary = [:], isCacheMessage: Bool = false) {
        self.requestID = requestID
        self.object = object
        self.method = method
        self.answerRequired = answerRequired
        self.arguments = arguments
        self.keywords = keywords
        self.isCacheMessage = isCacheMessage
    }
}

/// One PB message (one top-level Banana list after the handshake).
public enum PBMessage: Sendable, Hashable {
    /// `[version, n]`; Twisted speaks 6.
    case version(Int)
    /// `message` / `cachemessage`.
    case call(PBCall)
    /// `[answer, requestID, j(result)]`.
    case answer(requestID: Int, result: JellyValue)
    /// `[error, requestID, j(failure)]`; the payload is usually `.failure(...)`.
    case error(requestID: Int, failure: JellyValue)
    /// `[decref, luid]`: the peer dropped one reference to our object `luid`.
    case decref(luid: Int)
    /// `[decache, luid]`.
    case decache(luid: Int)
    /// `[uncache, luid]`.
    case uncache(luid: Int)
    /// `[b"didNotUnderstand", command]`.
    case didNotUnderstand(command: [UInt8])
    /// A call whose args/kw could not be unjellied (InsecureJelly etc.): answer an error,
    /// keep the connection. Only produced by the decoder.
    case undecodableCall(requestID: Int, answerRequired: Bool, error: JellyError)
    /// An answer/error whose payload could not be unjellied: fail that request and close.
    /// Only produced by the decoder.
    case undecodableAnswer(requestID: Int, error: JellyError)
}

/// What `PBFrameDecoder` hands up.
public enum PBFrame: Sendable, Hashable {
    /// The server's dialect list (client role).
    case dialectOffer([[UInt8]])
    /// The client's chosen dialect (server role); the decoder has switched to it.
    case dialectChoice([UInt8])
    /// One PB message.
    case message(PBMessage)
}
