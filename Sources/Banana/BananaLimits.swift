/// Bounds on what a peer may send; each violated bound closes the connection.
public struct BananaLimits: Sendable, Hashable {
    /// Base-128 prefix bytes before a type byte (Twisted: 64).
    public var maxPrefixBytes: Int
    /// Bytes in one STRING (Twisted: 655,360).
    public var maxStringBytes: Int
    /// Elements in one LIST (Twisted: 655,360).
    public var maxListCount: Int
    /// Nesting of lists, the message's own list being depth 1 (Twisted: none). Values above
    /// 1024 act as 1024: decoding recurses once per level.
    public var maxDepth: Int
    /// Bytes in one top-level element (Twisted: none).
    public var maxMessageBytes: Int

    /// Makes limits; the defaults are `.twisted`.
    public init(maxPrefixBytes: Int = 64, maxStringBytes: Int = 655_360, maxListCount: Int = 655_360,
                maxDepth: Int = 64, maxMessageBytes: Int = 4 * 1024 * 1024) {
        self.maxPrefixBytes = maxPrefixBytes
        self.maxStringBytes = maxStringBytes
        self.maxListCount = maxListCount
        self.maxDepth = maxDepth
        self.maxMessageBytes = maxMessageBytes
    }

    /// Twisted's limits, plus a nesting depth of 64 and 4 MiB per message.
    public static let twisted = BananaLimits()
}
