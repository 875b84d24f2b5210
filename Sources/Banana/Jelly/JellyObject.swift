/// An object that travels by reference: one we export, or a reference to a peer's object.
///
/// Banana never encodes such an object itself: the encoder hands it to the caller's
/// `objects` hook, which answers `.remote(luid)` or `.local(luid)` from the broker's tables.
public protocol JellyObject: AnyObject, Sendable {}

/// One value that occurs several times inside one jelly call (Twisted's `reference` /
/// `dereference`). Its identity is the sharing: the encoder writes a `reference` for the
/// first occurrence and a `dereference` for every later occurrence of the same instance.
public final class SharedJellyValue: Sendable, Hashable {
    /// The shared contents.
    public let value: JellyValue

    /// Wraps `value` so that several places of one message can share it.
    public init(_ value: JellyValue) {
        self.value = value
    }

    /// Shared values compare by contents, like the values they wrap.
    public static func == (lhs: SharedJellyValue, rhs: SharedJellyValue) -> Bool {
        lhs === rhs || lhs.value == rhs.value
    }

    /// Hashes the contents.
    public func hash(into hasher: inout Hasher) {
        value.hash(into: &hasher)
    }
}
