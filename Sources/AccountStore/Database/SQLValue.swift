/// A value bound to a statement parameter.
enum SQLValue {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

extension SQLValue {
    /// An optional integer: NULL when absent.
    static func integer(_ value: Int64?) -> SQLValue { value.map { .integer($0) } ?? .null }
    /// An optional text: NULL when absent.
    static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    /// A Boolean as SQLite stores it (0 or 1).
    static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
}
