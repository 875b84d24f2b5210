import Banana

/// Why a remote call did not produce an answer.
public enum PBCallError: Error, Sendable, CustomStringConvertible {
    /// The peer answered with an error; the failure says which (check its `parents`).
    case remoteFailure(JellyFailure)
    /// The connection closed before the answer arrived.
    case connectionLost
    /// The reference's connection is already closed; nothing was sent.
    case deadReference
    /// Thrown by a `PBReferenceable` for a method name it does not know.
    case noSuchMethod(String)
    /// Thrown by a `PBReferenceable` for wrong argument counts or types; the text is sent to the peer.
    case badArguments(String)
    /// The arguments could not be encoded (for example an object that cannot travel by reference).
    case unsendable(String)
    /// The peer's answer could not be decoded; the connection was closed.
    case undecodableAnswer(String)
    /// The peer's answer did not have the shape the caller expected (for example a login answer).
    case unexpectedAnswer(String)
    /// No answer came within the call's time limit; a late answer is ignored.
    case timedOut
    /// `limit` calls on this connection already wait for their answers; nothing was sent.
    case tooManyPendingCalls(limit: Int)

    /// A sentence a person can act on.
    public var description: String {
        switch self {
        case .remoteFailure(let failure): "the peer answered with an error: \(failure)"
        case .connectionLost: "the PB connection was lost before the answer arrived"
        case .deadReference: "the PB connection of this reference is already closed"
        case .noSuchMethod(let name): "no remote method named \(name)"
        case .badArguments(let reason): "bad arguments: \(reason)"
        case .unsendable(let reason): "the call could not be encoded: \(reason)"
        case .undecodableAnswer(let reason): "the peer's answer could not be decoded (\(reason)); the connection was closed"
        case .unexpectedAnswer(let reason): "unexpected answer from the peer: \(reason)"
        case .timedOut: "the peer did not answer in time"
        case .tooManyPendingCalls(let limit): "\(limit) calls already wait for the peer's answers; try again later"
        }
    }
}
