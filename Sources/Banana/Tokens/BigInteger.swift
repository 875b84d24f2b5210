/// An arbitrary-size signed integer, for the integers Python sends outside `Int`'s range.
///
/// Twisted sends magnitudes up to 2^448-1 (64 base-128 prefix digits). `BigInteger` only
/// stores and converts such values (decimal text, Banana digits); it does no arithmetic.
/// Values are kept normalized, so equal numbers compare and hash equal.
public struct BigInteger: Sendable, Hashable, CustomStringConvertible {
    /// The magnitude as little-endian 32-bit limbs, without trailing zero limbs (zero is `[]`).
    private(set) var limbs: [UInt32]
    /// Whether the value is below zero (never true for zero).
    public private(set) var isNegative: Bool

    /// Makes the integer equal to `value`.
    public init(_ value: Int) {
        self.init(magnitude: value.magnitude, negative: value < 0)
    }

    init(magnitude: UInt, negative: Bool) {
        var limbs: [UInt32] = []
        var rest = UInt64(magnitude)
        while rest != 0 {
            limbs.append(UInt32(truncatingIfNeeded: rest))
            rest >>= 32
        }
        self.limbs = limbs
        self.isNegative = negative && !limbs.isEmpty
    }

    init(limbs: [UInt32], negative: Bool) {
        var limbs = limbs
        while let last = limbs.last, last == 0 { limbs.removeLast() }
        self.limbs = limbs
        self.isNegative = negative && !limbs.isEmpty
    }

    /// Parses optional `-` or `+` followed by decimal digits, e.g. `"-1180591620717411303424"`.
    /// Returns nil for anything else (empty text, other characters).
    public init?(_ decimal: String) {
        var utf8 = Substring(decimal).utf8[...]
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        guard !utf8.isEmpty else { return nil }
        var limbs: [UInt32] = []
        for character in utf8 {
            guard character >= UInt8(ascii: "0"), character <= UInt8(ascii: "9") else { return nil }
            BigInteger.multiplyAdd(&limbs, multiplier: 10, addend: UInt32(character - UInt8(ascii: "0")))
        }
        self.init(limbs: limbs, negative: negative)
    }

    /// The value in decimal, with a leading `-` when negative.
    public var description: String {
        if limbs.isEmpty { return "0" }
        var rest = limbs
        var chunks: [UInt32] = []  // base 10^9, least significant first
        while !rest.isEmpty {
            chunks.append(BigInteger.divide(&rest, by: 1_000_000_000))
        }
        var text = isNegative ? "-" : ""
        text += String(chunks[chunks.count - 1])
        for chunk in chunks.dropLast().reversed() {
            let digits = String(chunk)
            text += String(repeating: "0", count: 9 - digits.count) + digits
        }
        return text
    }

    /// The value as an `Int`, or nil when it does not fit.
    public var intValue: Int? {
        guard limbs.count <= 2 else { return nil }
        var magnitude: UInt64 = 0
        for (position, limb) in limbs.enumerated() { magnitude |= UInt64(limb) << (32 * UInt64(position)) }
        if isNegative {
            if magnitude <= UInt64(Int.max) { return -Int(magnitude) }
            if magnitude == UInt64(Int.max) + 1 { return Int.min }
            return nil
        }
        return magnitude <= UInt64(Int.max) ? Int(magnitude) : nil
    }

    /// Number of significant bits of the magnitude (0 for zero).
    var bitWidth: Int {
        guard let last = limbs.last else { return 0 }
        return (limbs.count - 1) * 32 + (32 - last.leadingZeroBitCount)
    }

    /// Builds the magnitude from Banana prefix digits (base 128, least significant first).
    init(base128Digits digits: UnsafeRawBufferPointer, negative: Bool) {
        var limbs = [UInt32](repeating: 0, count: (digits.count * 7 + 31) / 32)
        for (position, digit) in digits.enumerated() {
            let value = UInt64(digit & 0x7f)
            let bit = position * 7
            let shifted = value << UInt64(bit % 32)
            limbs[bit / 32] |= UInt32(truncatingIfNeeded: shifted)
            if shifted >> 32 != 0 { limbs[bit / 32 + 1] |= UInt32(truncatingIfNeeded: shifted >> 32) }
        }
        self.init(limbs: limbs, negative: negative)
    }

    /// The magnitude as Banana prefix digits (base 128, least significant first; zero is `[0]`).
    var base128Digits: [UInt8] {
        let count = max(1, (bitWidth + 6) / 7)
        var digits = [UInt8](repeating: 0, count: count)
        for position in 0..<count {
            let bit = position * 7
            var value = UInt64(limbs.indices.contains(bit / 32) ? limbs[bit / 32] : 0) >> UInt64(bit % 32)
            if bit % 32 > 25, limbs.indices.contains(bit / 32 + 1) {
                value |= UInt64(limbs[bit / 32 + 1]) << UInt64(32 - bit % 32)
            }
            digits[position] = UInt8(truncatingIfNeeded: value & 0x7f)
        }
        return digits
    }

    private static func multiplyAdd(_ limbs: inout [UInt32], multiplier: UInt32, addend: UInt32) {
        var carry = UInt64(addend)
        for index in limbs.indices {
            let product = UInt64(limbs[index]) * UInt64(multiplier) + carry
            limbs[index] = UInt32(truncatingIfNeeded: product)
            carry = product >> 32
        }
        if carry != 0 { limbs.append(UInt32(carry)) }
    }

    /// Divides `limbs` in place and returns the remainder; trims trailing zero limbs.
    private static func divide(_ limbs: inout [UInt32], by divisor: UInt32) -> UInt32 {
        var remainder: UInt64 = 0
        for index in limbs.indices.reversed() {
            let current = (remainder << 32) | UInt64(limbs[index])
            limbs[index] = UInt32(current / UInt64(divisor))
            remainder = current % UInt64(divisor)
        }
        while let last = limbs.last, last == 0 { limbs.removeLast() }
        return UInt32(remainder)
    }
}
