/// Bounds on what a peer may send; each violated bound closes the connection.
public struct BananaLimits: Sendable, Hashable {
    /// Base-128 prefix bytes before a type byte (Twisted: 64).
    public var maxPrefixBytes: Int
    /// Bytes in one STRING (Twisted: 655,360).
    public var maxStringBytes: Int
    /// Elements in one LIST (Twisted: 655,360).
    public var maxListCount: Int
    /// Nesting of lists, the message's own list being depth 1 (Twisted: none). Values above
    /// 1024 act as 1024: decoding recurses once per level. Jelly counts the depth reached
    /// through `dereference` together with literal nesting, against this same limit, so a
    /// decoded value is never deeper than this however its depth was built.
    public var maxDepth: Int
    /// Jelly `reference`s in one jelly value (Twisted: none; a call's arguments and its keywords
    /// are two values). The dereferences of a value may stand for at most as many bytes as its
    /// message holds plus 64 KiB, so a decoded value unfolds to at most twice its size on the
    /// wire plus a constant, and any walk over it is linear in the message's size.
    public var maxReferences: Int
    /// Bytes in one top-level element (Twisted: none).
    public var maxMessageBytes: Int

    /// Makes limits; the defaults are `.twisted`.
    public init(maxPrefixBytes: Int = 64, maxStringBytes: Int = 655_360, maxListCount: Int = 655_360,
                maxDepth: Int = 64, maxMessageBytes: Int = 4 * 1024 * 1024, maxReferences: Int = 1024) {
        self.maxPrefixBytes = maxPrefixBytes
        self.maxStringBytes = maxStringBytes
        self.maxListCount = maxListCount
        self.maxDepth = maxDepth
        self.maxMessageBytes = maxMessageBytes
        self.maxReferences = maxReferences
    }

    /// Twisted's limits, plus a nesting depth of 64, 4 MiB per message and 1024 references.
    public static let twisted = BananaLimits()

    /// What a connection that has not logged in may send: a real pre-login message (a
    /// `login(username)` with a username of at most 64 bytes, `respond(response, mind)`, or
    /// pbauth's `authenticate(username, password)` with a password of at most 1024 bytes) is
    /// at most about 1.2 KiB, so 2 KiB leaves room and 1,000 strangers hold at most 2 MiB of
    /// partial messages. Depth 16 (a login nests 4 deep) and 64 items per list.
    public static let stranger = BananaLimits(maxPrefixBytes: 64, maxStringBytes: 2048, maxListCount: 64,
                                              maxDepth: 16, maxMessageBytes: 2048, maxReferences: 16)
}
