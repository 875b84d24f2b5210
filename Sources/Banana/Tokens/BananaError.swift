/// A Banana or PB framing violation. Decoding errors mean the peer broke the protocol:
/// close the connection (Twisted does the same, without sending anything first).
public enum BananaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// More than `limit` base-128 prefix bytes before a type byte.
    case prefixTooLong(limit: Int)
    /// A STRING header announced `length` bytes, more than `limit`.
    case stringTooLong(length: Int, limit: Int)
    /// A LIST header announced `count` elements, more than `limit`.
    case listTooLong(count: Int, limit: Int)
    /// Lists nested deeper than `limit`.
    case tooDeep(limit: Int)
    /// One top-level element grew beyond `limit` bytes.
    case messageTooLarge(limit: Int)
    /// A type byte outside `0x80...0x87`.
    case invalidTypeByte(UInt8)
    /// A VOCAB index outside the dialect's table.
    case unknownVocabulary(index: Int)
    /// A VOCAB element while no dialect (or dialect `none`) is active.
    case vocabularyNotAllowed
    /// The peer's first element was not an acceptable dialect choice / offer.
    case badDialectNegotiation(String)
    /// After the handshake, a top-level element that is not a LIST.
    case nonListMessage
    /// A PB message with the wrong fields, e.g. `answer` without 3 items.
    case badMessageShape(String)
    /// A PB command this implementation does not know.
    case unknownCommand(String)
    /// An integer whose magnitude exceeds 2^448-1 (Twisted refuses to send it too).
    case integerTooLargeToSend
    /// A byte string longer than the peer accepts (655,360 bytes).
    case stringTooLongToSend(length: Int)
    /// A list with more elements than the peer accepts (655,360).
    case listTooLongToSend(count: Int)
    /// A message kind that only exists on the receiving side (e.g. `.undecodableCall`).
    case notSendable(String)
    /// A jelly value broke a bound on its shape (depth through references, reference count,
    /// what references stand for) or held a cycle: the peer is closed, not answered.
    case jellyLimit(JellyError)

    /// A sentence for logs.
    public var description: String {
        switch self {
        case .prefixTooLong(let limit): return "banana prefix longer than \(limit) bytes"
        case .stringTooLong(let length, let limit): return "banana string of \(length) bytes exceeds the limit of \(limit)"
        case .listTooLong(let count, let limit): return "banana list of \(count) elements exceeds the limit of \(limit)"
        case .tooDeep(let limit): return "banana lists nested deeper than \(limit)"
        case .messageTooLarge(let limit): return "banana message larger than \(limit) bytes"
        case .invalidTypeByte(let byte): return "invalid banana type byte 0x\(String(byte, radix: 16))"
        case .unknownVocabulary(let index): return "unknown banana vocabulary index \(index)"
        case .vocabularyNotAllowed: return "banana vocabulary token before dialect pb was selected"
        case .badDialectNegotiation(let reason): return "dialect negotiation failed: \(reason)"
        case .nonListMessage: return "PB message is not a list"
        case .badMessageShape(let reason): return "malformed PB message: \(reason)"
        case .unknownCommand(let command): return "unknown PB command \(command)"
        case .integerTooLargeToSend: return "integer too large to send (magnitude above 2^448-1)"
        case .stringTooLongToSend(let length): return "byte string of \(length) bytes is too long to send"
        case .listTooLongToSend(let count): return "list of \(count) elements is too long to send"
        case .notSendable(let kind): return "\(kind) cannot be sent"
        case .jellyLimit(let error): return error.description
        }
    }
}
