import Banana

/// The objects one connection exports by reference, with their luids and reference counts.
///
/// Luids start at 1 and are never reused within a connection. Sending an object that is
/// already exported reuses its luid and adds one reference; each `decref` from the peer
/// removes one. Confined to the connection's event loop.
struct PBExportTable {
    private struct Entry {
        let object: any PBReferenceable
        var references: Int
    }

    /// What a `decref` did.
    enum Release {
        /// The luid is not exported (never was, or already released): tolerated.
        case unknown
        /// The object still has references.
        case stillReferenced
        /// The last reference went away; the object is no longer exported.
        case released(any PBReferenceable)
    }

    private var entries: [Int: Entry] = [:]
    private var luidByObject: [ObjectIdentifier: Int] = [:]
    private var lastLUID = 0
    /// How many exports the limit refused on this connection (Twisted closes after more than 3).
    private(set) var refusals = 0
    /// At most this many distinct objects are exported at once (Twisted's MAX_BROKER_REFS);
    /// it grows when a stranger logs in.
    var limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Exports `object` (or adds a reference to it) and answers its luid.
    /// Throws `pb.Error("Maximum PB reference count exceeded.")` past the limit.
    mutating func export(_ object: any PBReferenceable) throws -> Int {
        let identity = ObjectIdentifier(object)
        if let luid = luidByObject[identity], entries[luid] != nil {
            entries[luid]?.references += 1
            return luid
        }
        guard entries.count < limit else {
            refusals += 1
            throw PBFailures.pbError("Maximum PB reference count exceeded.")
        }
        lastLUID += 1
        entries[lastLUID] = Entry(object: object, references: 1)
        luidByObject[identity] = lastLUID
        return lastLUID
    }

    /// The exported object with `luid`, if any.
    func object(_ luid: Int) -> (any PBReferenceable)? {
        entries[luid]?.object
    }

    /// Removes one reference to `luid`.
    mutating func release(_ luid: Int) -> Release {
        guard var entry = entries[luid] else { return .unknown }
        entry.references -= 1
        if entry.references > 0 {
            entries[luid] = entry
            return .stillReferenced
        }
        entries[luid] = nil
        luidByObject[ObjectIdentifier(entry.object)] = nil
        return .released(entry.object)
    }

    /// Forgets every object (the connection closed).
    mutating func removeAll() {
        entries.removeAll()
        luidByObject.removeAll()
    }
}
