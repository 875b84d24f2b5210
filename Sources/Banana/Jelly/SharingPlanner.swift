/// The pre-pass of `JellyEncoder`: numbers the shared values in order of second encounter.
struct SharingPlanner {
    private(set) var refids: [ObjectIdentifier: Int] = [:]
    private var seen: Set<ObjectIdentifier> = []

    mutating func visit(_ value: JellyValue) {
        switch value {
        case .shared(let shared):
            let identity = ObjectIdentifier(shared)
            if seen.contains(identity) {
                if refids[identity] == nil { refids[identity] = refids.count + 1 }
                return
            }
            seen.insert(identity)
            visit(shared.value)
        case .list(let items), .tuple(let items), .set(let items), .frozenSet(let items):
            for item in items { visit(item) }
        case .dictionary(let dictionary):
            for entry in dictionary.entries {
                visit(entry.key)
                visit(entry.value)
            }
        case .failure(let failure):
            if failure.receivedState != nil { visit(.dictionary(failure.stateToSend)) }
        default:
            break
        }
    }
}
