/// The type name at the head of a jelly list, as far as PB's `globalSecurity` allows it.
enum JellyHead {
    case none, unicode, boolean, list, tuple, dictionary, set, frozenSet
    case reference, dereference, unpersistable, persistent
    case datetime, date, time, timedelta, decimal
    case remote, local, copyableFailure
    /// Anything else: Twisted refuses it as insecure.
    case refused

    /// The head a VOCAB token names.
    init(vocabulary index: UInt8) {
        switch index {
        case BananaVocabulary.none: self = .none
        case BananaVocabulary.dereference: self = .dereference
        case BananaVocabulary.reference: self = .reference
        case BananaVocabulary.dictionary: self = .dictionary
        case BananaVocabulary.list: self = .list
        case BananaVocabulary.persistent: self = .persistent
        case BananaVocabulary.tuple: self = .tuple
        case BananaVocabulary.unpersistable: self = .unpersistable
        case BananaVocabulary.remote: self = .remote
        case BananaVocabulary.local: self = .local
        default: self = .refused
        }
    }

    /// The head a STRING names (vocabulary words may also arrive as STRINGs).
    init(bytes: UnsafeRawBufferPointer) {
        // `unicode` heads every Python str: test it before the vocabulary.
        if bytes.count == 7, BananaVocabulary.matches(bytes, "unicode") {
            self = .unicode
            return
        }
        let index = BananaVocabulary.index(of: bytes)
        if index != 0 {
            self.init(vocabulary: index)
            return
        }
        switch bytes.count {
        case 3 where BananaVocabulary.matches(bytes, "set"): self = .set
        case 4 where BananaVocabulary.matches(bytes, "date"): self = .date
        case 4 where BananaVocabulary.matches(bytes, "time"): self = .time
        case 7 where BananaVocabulary.matches(bytes, "unicode"): self = .unicode
        case 7 where BananaVocabulary.matches(bytes, "boolean"): self = .boolean
        case 7 where BananaVocabulary.matches(bytes, "decimal"): self = .decimal
        case 8 where BananaVocabulary.matches(bytes, "datetime"): self = .datetime
        case 9 where BananaVocabulary.matches(bytes, "frozenset"): self = .frozenSet
        case 9 where BananaVocabulary.matches(bytes, "timedelta"): self = .timedelta
        case 33 where BananaVocabulary.matches(bytes, "twisted.spread.pb.CopyableFailure"): self = .copyableFailure
        default: self = .refused
        }
    }

    /// Python's `repr()` of a bytes object, as Twisted puts it in an `InsecureJelly` value (`b'class'`).
    /// Names longer than `limit` bytes are cut and marked with `...` after the closing quote,
    /// so that a peer cannot make us log or echo back 640 KB.
    static func pythonRepr(_ bytes: some Sequence<UInt8>, limit: Int = 200) -> String {
        var array = Array(bytes)
        let isCut = array.count > limit
        if isCut { array.removeLast(array.count - limit) }
        let quote: UInt8 = array.contains(UInt8(ascii: "'")) && !array.contains(UInt8(ascii: "\"")) ? UInt8(ascii: "\"") : UInt8(ascii: "'")
        var text = "b" + String(UnicodeScalar(quote))
        for byte in array {
            switch byte {
            case UInt8(ascii: "\\"): text += "\\\\"
            case UInt8(ascii: "\t"): text += "\\t"
            case UInt8(ascii: "\n"): text += "\\n"
            case UInt8(ascii: "\r"): text += "\\r"
            case quote: text += "\\" + String(UnicodeScalar(quote))
            case 0x20..<0x7f: text.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text + String(UnicodeScalar(quote)) + (isCut ? "..." : "")
    }
}
