import Banana

/// Turning the object references in a received value into objects.
extension PBBroker {
    /// Replaces every `[remote, N]` with a new `PBRemoteReference` (one per occurrence, each owing
    /// one decref) and every `[local, N]` with our exported object (`.none` if unknown, as Twisted).
    /// Sharing between `.shared` values is kept. Values without references are returned as they are.
    func resolveIncoming(_ value: JellyValue) -> JellyValue {
        var seen: Set<ObjectIdentifier> = []
        guard Self.containsReferences(value, seen: &seen) else { return value }
        var resolvedShares: [ObjectIdentifier: SharedJellyValue] = [:]
        return resolve(value, shares: &resolvedShares)
    }

    func resolveIncoming(_ dictionary: JellyDictionary) -> JellyDictionary {
        guard case .dictionary(let resolved) = resolveIncoming(.dictionary(dictionary)) else { return dictionary }
        return resolved
    }

    private static func containsReferences(_ value: JellyValue, seen: inout Set<ObjectIdentifier>) -> Bool {
        switch value {
        case .remote, .local:
            return true
        case .list(let items), .tuple(let items), .set(let items), .frozenSet(let items):
            return items.contains { containsReferences($0, seen: &seen) }
        case .dictionary(let dictionary):
            return dictionary.entries.contains {
                containsReferences($0.key, seen: &seen) || containsReferences($0.value, seen: &seen)
            }
        case .shared(let shared):
            guard seen.insert(ObjectIdentifier(shared)).inserted else { return false }
            return containsReferences(shared.value, seen: &seen)
        default:
            return false
        }
    }

    private func resolve(_ value: JellyValue, shares: inout [ObjectIdentifier: SharedJellyValue]) -> JellyValue {
        switch value {
        case .remote(let luid):
            return .object(PBRemoteReference(broker: self, objectID: .luid(luid)))
        case .local(let luid):
            return exports.object(luid).map { .object($0) } ?? .none
        case .list(let items):
            return .list(items.map { resolve($0, shares: &shares) })
        case .tuple(let items):
            return .tuple(items.map { resolve($0, shares: &shares) })
        case .set(let items):
            return .set(items.map { resolve($0, shares: &shares) })
        case .frozenSet(let items):
            return .frozenSet(items.map { resolve($0, shares: &shares) })
        case .dictionary(var dictionary):
            dictionary.entries = dictionary.entries.map {
                (key: resolve($0.key, shares: &shares), value: resolve($0.value, shares: &shares))
            }
            return .dictionary(dictionary)
        case .shared(let shared):
            if let done = shares[ObjectIdentifier(shared)] { return .shared(done) }
            let resolved = SharedJellyValue(resolve(shared.value, shares: &shares))
            shares[ObjectIdentifier(shared)] = resolved
            return .shared(resolved)
        default:
            return value
        }
    }
}
