/// A remote exception as PB carries it: the state of `twisted.spread.pb.CopyableFailure`.
///
/// Decoding keeps `type`, `value`, `parents` and `traceback` and ignores other keys
/// (`count`, `pickled`, `_frames`, …); the whole received state is remembered so that
/// re-encoding an unmodified decoded failure is byte-identical to what Twisted sent.
public struct JellyFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The exception's fully qualified class name, e.g. `twisted.cred.error.UnauthorizedLogin`.
    public var type: String
    /// The exception text (`str(exception)`), possibly empty.
    public var value: String
    /// The class MRO as qualified names; what `failure.check()` compares against.
    public var parents: [String]
    /// The formatted traceback, or Twisted's `"Traceback unavailable\n"`.
    public var traceback: String
    /// The state dictionary as received (nil for failures made locally).
    var receivedState: JellyDictionary?

    /// Makes a failure to send; put `type` itself first in `parents`, as Python's MRO does.
    public init(type: String, value: String, parents: [String], traceback: String = "Traceback unavailable\n") {
        self.type = type
        self.value = value
        self.parents = parents
        self.traceback = traceback
        self.receivedState = nil
    }

    /// Whether the failure is (a subclass of) the Python class `qualifiedName`.
    public func check(_ qualifiedName: String) -> Bool {
        parents.contains(qualifiedName)
    }

    /// `"type: value"`; never the traceback.
    public var description: String { "\(type): \(value)" }

    /// Failures compare by type, value, parents and traceback (not by the received extras).
    public static func == (lhs: JellyFailure, rhs: JellyFailure) -> Bool {
        lhs.type == rhs.type && lhs.value == rhs.value && lhs.parents == rhs.parents && lhs.traceback == rhs.traceback
    }

    /// Hashes type, value, parents and traceback.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(value)
        hasher.combine(parents)
        hasher.combine(traceback)
    }

    /// Builds a failure from a received state dictionary.
    init(state: JellyDictionary) throws(JellyError) {
        guard let type = state["type"]?.stringValue else {
            throw JellyError.malformed("CopyableFailure state has no text 'type'")
        }
        self.type = type
        self.value = state["value"]?.stringValue ?? ""
        var parents: [String] = []
        if let items = state["parents"]?.arrayValue {
            for item in items {
                guard let name = item.stringValue else { throw JellyError.malformed("CopyableFailure 'parents' holds a non-text item") }
                parents.append(name)
            }
        }
        self.parents = parents
        self.traceback = state["traceback"]?.stringValue ?? "Traceback unavailable\n"
        self.receivedState = state
    }

    /// The state dictionary to send: the received one with the four fields brought up to
    /// date, or the key set and order of Twisted's synchronous path (capture M13).
    var stateToSend: JellyDictionary {
        let typeValue = JellyValue.bytes(Array(type.utf8))
        let valueValue = JellyValue.string(value)
        let parentsValue = JellyValue.list(parents.map { .string($0) })
        let tracebackValue = JellyValue.string(traceback)
        guard var state = receivedState else {
            return [
                "count": .int(0),
                "type": typeValue,
                "value": valueValue,
                "captureVars": .bool(false),
                "tb": .none,
                "unsafeTracebacks": .bool(false),
                "parents": parentsValue,
                "frames": .list([]),
                "stack": .list([]),
                "traceback": tracebackValue,
            ]
        }
        for index in state.entries.indices {
            let old = state.entries[index].value
            switch state.entries[index].key.stringValue {
            case "type": if old.stringValue != type { state.entries[index].value = typeValue }
            case "value": if old.stringValue != value { state.entries[index].value = valueValue }
            case "parents": if old.arrayValue?.map(\.stringValue) != parents.map(Optional.some) { state.entries[index].value = parentsValue }
            case "traceback": if old.stringValue != traceback { state.entries[index].value = tracebackValue }
            default: break
            }
        }
        return state
    }
}
