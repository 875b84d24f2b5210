/// The `pb` dialect's vocabulary (Twisted's `banana.py` table; index 0 is unused).
enum BananaVocabulary {
    /// Words by index; `words[0]` is empty and never valid on the wire.
    static let words: [[UInt8]] = [
        "", "None", "class", "dereference", "reference", "dictionary", "function", "instance", "list",
        "module", "persistent", "tuple", "unpersistable", "copy", "cache", "cached", "remote", "local",
        "lcache", "version", "login", "password", "challenge", "logged_in", "not_logged_in",
        "cachemessage", "message", "answer", "error", "decref", "decache", "uncache",
    ].map { Array($0.utf8) }

    /// Highest valid index.
    static let maxIndex = 31

    static let none: UInt8 = 1
    static let `class`: UInt8 = 2
    static let dereference: UInt8 = 3
    static let reference: UInt8 = 4
    static let dictionary: UInt8 = 5
    static let list: UInt8 = 8
    static let persistent: UInt8 = 10
    static let tuple: UInt8 = 11
    static let unpersistable: UInt8 = 12
    static let cached: UInt8 = 15
    static let remote: UInt8 = 16
    static let local: UInt8 = 17
    static let lcache: UInt8 = 18
    static let version: UInt8 = 19
    static let cacheMessage: UInt8 = 25
    static let message: UInt8 = 26
    static let answer: UInt8 = 27
    static let error: UInt8 = 28
    static let decref: UInt8 = 29
    static let decache: UInt8 = 30
    static let uncache: UInt8 = 31

    /// The index of the word equal to `bytes`, or 0 when it is not a vocabulary word.
    /// A switch on length then a byte comparison: no allocation, no hashing.
    @inline(__always)
    static func index(of bytes: UnsafeRawBufferPointer) -> UInt8 {
        let count = bytes.count
        guard count >= 4, count <= 13 else { return 0 }
        switch count {
        case 4:
            if matches(bytes, "None") { return 1 }
            if matches(bytes, "list") { return 8 }
            if matches(bytes, "copy") { return 13 }
        case 5:
            if matches(bytes, "class") { return 2 }
            if matches(bytes, "tuple") { return 11 }
            if matches(bytes, "cache") { return 14 }
            if matches(bytes, "local") { return 17 }
            if matches(bytes, "login") { return 20 }
            if matches(bytes, "error") { return 28 }
        case 6:
            if matches(bytes, "module") { return 9 }
            if matches(bytes, "cached") { return 15 }
            if matches(bytes, "remote") { return 16 }
            if matches(bytes, "lcache") { return 18 }
            if matches(bytes, "answer") { return 27 }
            if matches(bytes, "decref") { return 29 }
        case 7:
            if matches(bytes, "version") { return 19 }
            if matches(bytes, "message") { return 26 }
            if matches(bytes, "decache") { return 30 }
            if matches(bytes, "uncache") { return 31 }
        case 8:
            if matches(bytes, "function") { return 6 }
            if matches(bytes, "instance") { return 7 }
            if matches(bytes, "password") { return 21 }
        case 9:
            if matches(bytes, "reference") { return 4 }
            if matches(bytes, "challenge") { return 22 }
            if matches(bytes, "logged_in") { return 23 }
        case 10:
            if matches(bytes, "dictionary") { return 5 }
            if matches(bytes, "persistent") { return 10 }
        case 11:
            if matches(bytes, "dereference") { return 3 }
        case 12:
            if matches(bytes, "cachemessage") { return 25 }
        case 13:
            if matches(bytes, "unpersistable") { return 12 }
            if matches(bytes, "not_logged_in") { return 24 }
        default:
            break
        }
        return 0
    }

    /// Whether `bytes` equals the ASCII `word` (same length already checked by the caller).
    @inline(__always)
    static func matches(_ bytes: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard bytes.count == length, let base = bytes.baseAddress else { return false }
        let wordBase = word.utf8Start
        for offset in 0..<length where base.load(fromByteOffset: offset, as: UInt8.self) != wordBase[offset] {
            return false
        }
        return true
    }

    /// `index(of:)` for an array.
    static func index(of bytes: [UInt8]) -> UInt8 {
        bytes.withUnsafeBytes { index(of: $0) }
    }
}
