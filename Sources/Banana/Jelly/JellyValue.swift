/// One application value as Twisted's jelly carries it inside PB messages.
///
/// Python distinctions are kept (bytes vs str, list vs tuple, set vs frozenset) so that
/// what we send back is what a Twisted peer expects.
public enum JellyValue: Sendable, Hashable {
    /// Python `None`: `[V:None]`.
    case none
    /// Python `bool`: `[b"boolean", b"true"|b"false"]`.
    case bool(Bool)
    /// Every integer that fits in `Int`.
    case int(Int)
    /// Integers outside `Int`'s range only (decoding normalizes; the encoder accepts either).
    case bigInt(BigInteger)
    /// Python `float` (IEEE-754 binary64).
    case float(Double)
    /// Python `bytes`: a bare Banana STRING.
    case bytes([UInt8])
    /// Python `str`: `[b"unicode", <UTF-8>]`.
    case string(String)
    /// Python `list`: `[V:list, item…]`.
    case list([JellyValue])
    /// Python `tuple`: `[V:tuple, item…]`.
    case tuple([JellyValue])
    /// Python `dict`: `[V:dictionary, [k, v]…]`.
    case dictionary(JellyDictionary)
    /// Python `set`: `[b"set", item…]`.
    case set([JellyValue])
    /// Python `frozenset`: `[b"frozenset", item…]`.
    case frozenSet([JellyValue])
    /// A value met several times in one jelly call (`reference`/`dereference`).
    case shared(SharedJellyValue)
    /// `[V:remote, luid]`: an object in the sender's table.
    case remote(Int)
    /// `[V:local, luid]`: an object in the receiver's table.
    case local(Int)
    /// An object to be sent by reference through the encoder's `objects` hook; never decoded.
    case object(any JellyObject)
    /// `twisted.spread.pb.CopyableFailure`: a remote exception.
    indirect case failure(JellyFailure)
    /// `[V:unpersistable, reason]`: a value the sender could not serialize. Also what
    /// `datetime`, `date`, `time`, `timedelta`, `decimal` and `persistent` decode to
    /// (reason = `"<head> <payload…>"`), as pbauth never needs them.
    case unpersistable(String)

    /// The value inside any number of `.shared` wrappers.
    public var lookingThroughSharing: JellyValue {
        var current = self
        while case .shared(let shared) = current { current = shared.value }
        return current
    }

    /// The text of `.string`, or of `.bytes` when it is valid UTF-8.
    public var stringValue: String? {
        switch lookingThroughSharing {
        case .string(let text): return text
        case .bytes(let bytes): return String(validating: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The bytes of `.bytes`, or the UTF-8 of `.string`.
    public var bytesValue: [UInt8]? {
        switch lookingThroughSharing {
        case .bytes(let bytes): return bytes
        case .string(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// The integer of `.int`, or of a `.bigInt` that fits.
    public var intValue: Int? {
        switch lookingThroughSharing {
        case .int(let value): return value
        case .bigInt(let value): return value.intValue
        default: return nil
        }
    }

    /// The flag of `.bool`.
    public var boolValue: Bool? {
        if case .bool(let flag) = lookingThroughSharing { return flag }
        return nil
    }

    /// The items of `.list` or `.tuple`.
    public var arrayValue: [JellyValue]? {
        switch lookingThroughSharing {
        case .list(let items), .tuple(let items): return items
        default: return nil
        }
    }

    /// The dictionary of `.dictionary`.
    public var dictionaryValue: JellyDictionary? {
        if case .dictionary(let dictionary) = lookingThroughSharing { return dictionary }
        return nil
    }

    /// The failure of `.failure`.
    public var failureValue: JellyFailure? {
        if case .failure(let failure) = lookingThroughSharing { return failure }
        return nil
    }

    /// Equality of contents: `.shared` is looked through, `.object` compares identity,
    /// and NaN equals NaN (so decoded values can be compared in tests).
    public static func == (lhs: JellyValue, rhs: JellyValue) -> Bool {
        switch (lhs, rhs) {
        case (.shared(let left), .shared(let right)) where left === right: return true
        case (.shared(let left), _): return left.value == rhs
        case (_, .shared(let right)): return lhs == right.value
        case (.none, .none): return true
        case (.bool(let left), .bool(let right)): return left == right
        case (.int(let left), .int(let right)): return left == right
        case (.bigInt(let left), .bigInt(let right)): return left == right
        case (.int(let left), .bigInt(let right)), (.bigInt(let right), .int(let left)): return right.intValue == left
        case (.float(let left), .float(let right)): return left == right || (left.isNaN && right.isNaN)
        case (.bytes(let left), .bytes(let right)): return left == right
        case (.string(let left), .string(let right)): return left == right
        case (.list(let left), .list(let right)): return left == right
        case (.tuple(let left), .tuple(let right)): return left == right
        case (.dictionary(let left), .dictionary(let right)): return left == right
        case (.set(let left), .set(let right)): return left == right
        case (.frozenSet(let left), .frozenSet(let right)): return left == right
        case (.remote(let left), .remote(let right)): return left == right
        case (.local(let left), .local(let right)): return left == right
        case (.object(let left), .object(let right)): return left === right
        case (.failure(let left), .failure(let right)): return left == right
        case (.unpersistable(let left), .unpersistable(let right)): return left == right
        default: return false
        }
    }

    /// Hashes consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .shared(let shared): shared.value.hash(into: &hasher)
        case .none: hasher.combine(0)
        case .bool(let flag): hasher.combine(1); hasher.combine(flag)
        case .int(let value): hasher.combine(2); hasher.combine(value)
        case .bigInt(let value):
            if let small = value.intValue { hasher.combine(2); hasher.combine(small) } else { hasher.combine(3); hasher.combine(value) }
        case .float(let value): hasher.combine(4); if value.isNaN { hasher.combine(0) } else { hasher.combine(value) }
        case .bytes(let bytes): hasher.combine(5); hasher.combine(bytes)
        case .string(let text): hasher.combine(6); hasher.combine(text)
        case .list(let items): hasher.combine(7); hasher.combine(items)
        case .tuple(let items): hasher.combine(8); hasher.combine(items)
        case .dictionary(let dictionary): hasher.combine(9); hasher.combine(dictionary)
        case .set(let items): hasher.combine(10); hasher.combine(items)
        case .frozenSet(let items): hasher.combine(11); hasher.combine(items)
        case .remote(let luid): hasher.combine(12); hasher.combine(luid)
        case .local(let luid): hasher.combine(13); hasher.combine(luid)
        case .object(let object): hasher.combine(14); hasher.combine(ObjectIdentifier(object))
        case .failure(let failure): hasher.combine(15); hasher.combine(failure)
        case .unpersistable(let reason): hasher.combine(16); hasher.combine(reason)
        }
    }
}

extension JellyValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral, ExpressibleByArrayLiteral
{
    /// A string literal is a Python `str`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer literal is a Python `int`.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// `nil` is Python `None`.
    public init(nilLiteral: ()) { self = .none }
    /// A boolean literal is a Python `bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// A float literal is a Python `float`.
    public init(floatLiteral value: Double) { self = .float(value) }
    /// An array literal is a Python `list`.
    public init(arrayLiteral elements: JellyValue...) { self = .list(elements) }
}
