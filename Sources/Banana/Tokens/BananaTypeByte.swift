/// The Banana type bytes (the first byte with the high bit set ends an element header).
enum BananaTypeByte {
    static let list: UInt8 = 0x80
    static let int: UInt8 = 0x81
    static let string: UInt8 = 0x82
    static let negative: UInt8 = 0x83
    static let float: UInt8 = 0x84
    static let longInt: UInt8 = 0x85
    static let longNegative: UInt8 = 0x86
    static let vocabulary: UInt8 = 0x87
}
