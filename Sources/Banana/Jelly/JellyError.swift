/// Why a jelly value could not be decoded (or, for `.unencodableObject`, encoded).
///
/// In the arguments of an incoming call these become an error answer (Twisted answers
/// `InsecureJelly` and keeps the connection); in an answer they end the connection.
public enum JellyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A type Twisted's `globalSecurity` refuses (`class`, `module`, `function`, `instance`,
    /// any unregistered dotted name). `head` is the Python repr Twisted puts in the
    /// `InsecureJelly` value, e.g. `b'class'`.
    case insecure(head: String)
    /// A known type with the wrong shape, e.g. `[b"unicode"]` without text or invalid UTF-8.
    case malformed(String)
    /// A `dereference` to a value whose `reference` is still being decoded (a cycle).
    case cyclicReference(refid: Int)
    /// A `dereference` to a refid never introduced by a `reference`.
    case unknownReference(refid: Int)
    /// The `objects` hook did not turn an object into `.remote`/`.local` (or itself threw).
    case unencodableObject(String)
    /// Literal nesting and the depth reached through dereferences together exceed `limit`.
    case tooDeep(limit: Int)
    /// More than `limit` references in one message.
    case tooManyReferences(limit: Int)
    /// Dereferences stand for more than `limit` bytes (the message's size plus an allowance).
    case referencesTooLarge(limit: Int)

    /// Whether the peer broke a bound on the shape of values (or sent a cycle): the
    /// connection is closed instead of answering an error.
    public var isLimitViolation: Bool {
        switch self {
        case .tooDeep, .tooManyReferences, .referencesTooLarge, .cyclicReference: true
        default: false
        }
    }

    /// A sentence for logs; holds no application data beyond the type name.
    public var description: String {
        switch self {
        case .insecure(let head): return "insecure jelly: type \(head) is not allowed"
        case .malformed(let reason): return "malformed jelly: \(reason)"
        case .cyclicReference(let refid): return "jelly dereference \(refid) points into its own reference (cycles are not supported)"
        case .unknownReference(let refid): return "jelly dereference \(refid) has no earlier reference"
        case .unencodableObject(let reason): return "object cannot be sent by reference: \(reason)"
        case .tooDeep(let limit): return "jelly value nested deeper than \(limit), counting dereferences"
        case .tooManyReferences(let limit): return "more than \(limit) jelly references in one message"
        case .referencesTooLarge(let limit): return "jelly dereferences stand for more than \(limit) bytes"
        }
    }
}
