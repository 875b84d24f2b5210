/// Reads Banana elements one by one from bytes already checked by `BananaScanner`
/// (it still checks bounds, so malformed input throws instead of trapping).
struct BananaReader {
    /// One element; lists only announce their count, their items follow.
    enum Element {
        case list(count: Int)
        case int(Int)
        /// An integer too large for `Int`: its prefix digits, kept as a range so that the
        /// element stays a trivial value (no reference counting while reading).
        case bigInt(digits: Range<Int>, negative: Bool)
        case float(Double)
        /// A STRING's payload position within `bytes`.
        case string(Range<Int>)
        /// A VOCAB index (1...31).
        case vocabulary(UInt8)
    }

    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.position = 0
    }

    /// Reads the next element header (and a STRING's or FLOAT's payload).
    @inline(__always)
    mutating func next() throws(BananaError) -> Element {
        let start = position
        var typeIndex = position
        let count = bytes.count
        // Read the prefix while looking for the type byte; up to 9 digits (63 bits) the value
        // is exact, longer prefixes take the slow paths below.
        var value = 0
        var shift = 0
        while typeIndex < count {
            let byte = bytes[typeIndex]
            if byte >= 0x80 { break }
            if shift < 63 { value |= Int(byte) << shift }
            shift += 7
            typeIndex += 1
        }
        guard typeIndex < count else { throw .badMessageShape("truncated element") }
        let isLong = typeIndex - start > 9
        if isLong { value = BananaScanner.cappedPrefix(bytes, from: start, to: typeIndex) }
        let type = bytes[typeIndex]
        position = typeIndex + 1
        switch type {
        case BananaTypeByte.list:
            return .list(count: value)
        case BananaTypeByte.int, BananaTypeByte.longInt:
            return isLong ? longInteger(from: start, to: typeIndex, negative: false) : .int(value)
        case BananaTypeByte.negative, BananaTypeByte.longNegative:
            return isLong ? longInteger(from: start, to: typeIndex, negative: true) : .int(-value)
        case BananaTypeByte.string:
            guard value <= count - position else { throw .badMessageShape("truncated string") }
            let range = position..<(position + value)
            position += value
            return .string(range)
        case BananaTypeByte.float:
            guard count - position >= 8 else { throw .badMessageShape("truncated float") }
            let bits = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            position += 8
            return .float(Double(bitPattern: bits))
        case BananaTypeByte.vocabulary:
            guard value >= 1, value <= BananaVocabulary.maxIndex else { throw .unknownVocabulary(index: value) }
            return .vocabulary(UInt8(value))
        default:
            throw .invalidTypeByte(type)
        }
    }

    /// An integer written with more than 9 prefix digits (it may still fit in `Int`).
    private func longInteger(from start: Int, to end: Int, negative: Bool) -> Element {
        let big = BigInteger(base128Digits: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), negative: negative)
        if let small = big.intValue { return .int(small) }
        return .bigInt(digits: start..<end, negative: negative)
    }

    /// Skips one whole element, lists included.
    mutating func skipElement() throws(BananaError) {
        var remaining = 1
        while remaining > 0 {
            remaining -= 1
            if case .list(let count) = try next() { remaining += count }
        }
    }

    /// The bytes of a STRING payload.
    @inline(__always)
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[range])
    }

    /// The integer of a `.bigInt` element.
    func bigInteger(digits: Range<Int>, negative: Bool) -> BigInteger {
        BigInteger(base128Digits: slice(digits), negative: negative)
    }

    /// A STRING payload as a new array (one allocation, one copy).
    @inline(__always)
    func array(_ range: Range<Int>) -> [UInt8] {
        let source = slice(range)
        return [UInt8](unsafeUninitializedCapacity: source.count) { destination, initialized in
            guard let base = destination.baseAddress, let sourceBase = source.baseAddress, source.count > 0 else {
                initialized = 0
                return
            }
            UnsafeMutableRawPointer(base).copyMemory(from: sourceBase, byteCount: source.count)
            initialized = source.count
        }
    }

    /// A STRING payload as text, invalid UTF-8 replaced by U+FFFD (method names).
    @inline(__always)
    func lossyText(_ range: Range<Int>) -> String {
        let source = slice(range)
        return String(decoding: UnsafeBufferPointer(start: source.baseAddress?.assumingMemoryBound(to: UInt8.self), count: source.count), as: UTF8.self)
    }

    /// The byte string an atom stands for (a STRING's payload or a VOCAB word), or nil for other elements.
    func byteString(_ element: Element) -> [UInt8]? {
        switch element {
        case .string(let range): return array(range)
        case .vocabulary(let index): return BananaVocabulary.words[Int(index)]
        default: return nil
        }
    }
}
