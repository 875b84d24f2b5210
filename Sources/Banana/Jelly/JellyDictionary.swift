/// A Python dict as jelly carries it: key/value pairs in the sender's insertion order.
///
/// Keys are any `JellyValue` (usually `.string`). Lookups are linear: PB dictionaries
/// are small, and keeping the order is what makes re-encoding byte-identical.
public struct JellyDictionary: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// The pairs, in wire order.
    public var entries: [(key: JellyValue, value: JellyValue)]

    /// Makes a dictionary with the given pairs, kept in this order.
    public init(_ entries: [(key: JellyValue, value: JellyValue)] = []) {
        self.entries = entries
    }

    /// Makes a dictionary from a literal, kept in the literal's order.
    public init(dictionaryLiteral elements: (JellyValue, JellyValue)...) {
        self.entries = elements.map { (key: $0.0, value: $0.1) }
    }

    /// Number of pairs.
    public var count: Int { entries.count }

    /// Whether there are no pairs.
    public var isEmpty: Bool { entries.isEmpty }

    /// The value of the pair whose key is the text `key`, sent either as Python `str`
    /// (`.string`) or as UTF-8 `bytes` (`.bytes`); nil when absent. When a key occurs more
    /// than once, the last pair wins, as in the Python dict the peer would build.
    public subscript(key: String) -> JellyValue? {
        for entry in entries.reversed() {
            switch entry.key.lookingThroughSharing {
            case .string(let candidate) where candidate == key: return entry.value
            case .bytes(let candidate) where candidate.elementsEqual(key.utf8): return entry.value
            default: continue
            }
        }
        return nil
    }

    /// The value of the last pair whose key equals `key`; nil when absent.
    public subscript(key: JellyValue) -> JellyValue? {
        entries.last { $0.key == key }?.value
    }

    /// Pairwise equality, in order.
    public static func == (lhs: JellyDictionary, rhs: JellyDictionary) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for (left, right) in zip(lhs.entries, rhs.entries) where left.key != right.key || left.value != right.value {
            return false
        }
        return true
    }

    /// Hashes the pairs in order.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        for entry in entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}
