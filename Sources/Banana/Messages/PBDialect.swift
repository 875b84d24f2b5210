/// The Banana dialect chosen in the handshake; it only decides whether VOCAB is used.
public enum PBDialect: Sendable, Hashable {
    /// Dialect `pb`: VOCAB tokens are sent and accepted.
    case pb
    /// Dialect `none`: no VOCAB.
    case none

    /// The dialect's name on the wire (`pb` or `none`).
    public var name: [UInt8] {
        switch self {
        case .pb: return Array("pb".utf8)
        case .none: return Array("none".utf8)
        }
    }

    /// The dialect called `name`, or nil for a name we do not speak.
    public init?(name: [UInt8]) {
        if name.elementsEqual("pb".utf8) {
            self = .pb
        } else if name.elementsEqual("none".utf8) {
            self = .none
        } else {
            return nil
        }
    }

    /// What a client picks from a server's offer: the first name it knows, in the server's order.
    public static func choose(from offer: [[UInt8]]) -> PBDialect? {
        for name in offer {
            if let dialect = PBDialect(name: name) { return dialect }
        }
        return nil
    }

    /// The offer a Twisted server sends: `[b"pb", b"none"]`.
    public static let twistedOffer: [[UInt8]] = [Array("pb".utf8), Array("none".utf8)]
}

/// Which side of the dialect handshake a decoder is on.
public enum PBRole: Sendable, Hashable {
    /// Accepted the connection: offers dialects, receives the choice.
    case server
    /// Opened the connection: receives the offer, answers the choice.
    case client
}
