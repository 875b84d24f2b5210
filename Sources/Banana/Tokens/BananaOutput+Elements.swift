/// Writing Banana elements, with Twisted's choices (integer element kinds, VOCAB for every
/// vocabulary word in dialect `pb`, big-endian floats without prefix).
extension BananaOutput {
    /// Writes a header: `value` in base 128 (least significant first, `00` for zero), then `type`.
    @inline(__always)
    mutating func writeBananaHeader(_ value: Int, type: UInt8) {
        if value < 0x80 {
            append(UInt8(truncatingIfNeeded: value), type)
            return
        }
        var rest = value
        while rest != 0 {
            append(UInt8(truncatingIfNeeded: rest & 0x7f))
            rest >>= 7
        }
        append(type)
    }

    /// Writes a LIST header for `count` elements.
    @inline(__always)
    mutating func writeBananaListHeader(_ count: Int) throws {
        guard count <= 655_360 else { throw BananaError.listTooLongToSend(count: count) }
        writeBananaHeader(count, type: BananaTypeByte.list)
    }

    /// Writes an integer the way Twisted chooses its element kind.
    @inline(__always)
    mutating func writeBananaInteger(_ value: Int) {
        if value >= 0 {
            writeBananaHeader(value, type: value <= 0x7fff_ffff ? BananaTypeByte.int : BananaTypeByte.longInt)
        } else if value == Int.min {
            writeBananaBigInteger(BigInteger(value))
        } else {
            writeBananaHeader(-value, type: value >= -0x8000_0000 ? BananaTypeByte.negative : BananaTypeByte.longNegative)
        }
    }

    /// Writes an integer of any size; refuses magnitudes above 2^448-1, as Twisted does.
    mutating func writeBananaBigInteger(_ value: BigInteger) {
        if let small = value.intValue, small != Int.min {
            writeBananaInteger(small)
            return
        }
        append(value.base128Digits)
        append(value.isNegative ? BananaTypeByte.longNegative : BananaTypeByte.longInt)
    }

    /// Writes a FLOAT: type byte then 8 bytes big-endian, no prefix.
    @inline(__always)
    mutating func writeBananaFloat(_ value: Double) {
        append(BananaTypeByte.float)
        withUnsafeBytes(of: value.bitPattern.bigEndian) { append($0) }
    }

    /// Writes a byte string: VOCAB when `vocabulary` and it is a word, else a STRING.
    @inline(__always)
    mutating func writeBananaBytes(_ bytes: UnsafeRawBufferPointer, vocabulary: Bool) throws {
        if vocabulary {
            let index = BananaVocabulary.index(of: bytes)
            if index != 0 {
                append(index, BananaTypeByte.vocabulary)
                return
            }
        }
        guard bytes.count <= 655_360 else { throw BananaError.stringTooLongToSend(length: bytes.count) }
        writeBananaHeader(bytes.count, type: BananaTypeByte.string)
        append(bytes)
    }

    /// `writeBananaBytes` for an array.
    @inline(__always)
    mutating func writeBananaBytes(_ bytes: [UInt8], vocabulary: Bool) throws {
        try bytes.withUnsafeBytes { (raw) throws in try writeBananaBytes(raw, vocabulary: vocabulary) }
    }

    /// Writes a vocabulary word: VOCAB in dialect `pb`, its STRING otherwise.
    @inline(__always)
    mutating func writeBananaWord(_ index: UInt8, vocabulary: Bool) {
        if vocabulary {
            append(index, BananaTypeByte.vocabulary)
        } else {
            let word = BananaVocabulary.words[Int(index)]
            writeBananaHeader(word.count, type: BananaTypeByte.string)
            append(word)
        }
    }

    /// Writes the two-element list `[word, integer]`: a version message, a decref, a
    /// decache or an uncache, and jelly's remote and local references.
    mutating func writeBananaTaggedInteger(_ word: UInt8, _ value: Int, vocabulary: Bool) {
        writeBananaHeader(2, type: BananaTypeByte.list)
        writeBananaWord(word, vocabulary: vocabulary)
        writeBananaInteger(value)
    }

    /// Writes an ASCII word that is not in the vocabulary (e.g. `unicode`) as a STRING.
    @inline(__always)
    mutating func writeBananaPlainWord(_ word: StaticString) {
        writeBananaHeader(word.utf8CodeUnitCount, type: BananaTypeByte.string)
        append(word)
    }
}
