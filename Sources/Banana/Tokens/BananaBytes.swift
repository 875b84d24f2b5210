/// Banana elements written one header at a time, for tools and tests that must send exact
/// bytes, including shapes that `PBEncoder` would never produce (a list that never ends,
/// a reference chain, a header announcing more than follows).
public enum BananaBytes {
    /// A base-128 prefix (least significant digit first) followed by `type`.
    public static func header(_ value: Int, _ type: UInt8) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = value
        repeat {
            bytes.append(UInt8(rest & 0x7f))
            rest >>= 7
        } while rest > 0
        return bytes + [type]
    }

    /// A LIST header announcing `count` elements.
    public static func list(_ count: Int) -> [UInt8] { header(count, BananaTypeByte.list) }
    /// A non-negative INT.
    public static func int(_ value: Int) -> [UInt8] { header(value, BananaTypeByte.int) }
    /// A STRING with its bytes.
    public static func string(_ bytes: [UInt8]) -> [UInt8] { header(bytes.count, BananaTypeByte.string) + bytes }
    /// A VOCAB element (dialect `pb`): 1 `None`, 3 `dereference`, 4 `reference`, 5 `dictionary`,
    /// 8 `list`, 11 `tuple`, 19 `version`, 20 `login`, 26 `message`, …
    public static func vocab(_ index: Int) -> [UInt8] { header(index, BananaTypeByte.vocabulary) }
}
