/// Writes one jelly call (one argument tuple, keyword dict, answer or error value).
///
/// Shared values: a pre-pass walks the value in encoding order and gives a refid to each
/// `SharedJellyValue` met a second time, numbered in order of second encounter, exactly
/// as Twisted numbers them; the first occurrence is then written as
/// `[reference, refid, value]` and the later ones as `[dereference, refid]`. As shared
/// values are rare, the encoder first writes without that pre-pass; only when it meets a
/// `.shared` does it discard what it wrote, plan, and write again.
struct JellyEncoder {
    let vocabulary: Bool
    let objects: (any JellyObject) throws -> JellyValue
    /// Refids of values shared in this call (empty when nothing is shared).
    private var refids: [ObjectIdentifier: Int] = [:]
    /// Shared values already written once.
    private var written: Set<ObjectIdentifier> = []
    /// Whether `refids` was computed for the value being written.
    private var planned = false

    /// Thrown inside the encoder when an unplanned write meets a `.shared` value.
    private struct SharingNeedsPlan: Error {}

    init(dialect: PBDialect, objects: @escaping (any JellyObject) throws -> JellyValue) {
        self.vocabulary = dialect == .pb
        self.objects = objects
    }

    /// Writes `value` as one jelly call.
    mutating func encode(_ value: JellyValue, into buffer: inout BananaOutput) throws {
        let start = buffer.count
        planned = false
        do {
            try write(value, into: &buffer)
        } catch is SharingNeedsPlan {
            buffer.truncate(to: start)
            var planner = SharingPlanner()
            planner.visit(value)
            refids = planner.refids
            written = []
            planned = true
            try write(value, into: &buffer)
        }
    }

    private mutating func write(_ value: JellyValue, into buffer: inout BananaOutput) throws {
        switch value {
        case .none:
            buffer.writeBananaHeader(1, type: BananaTypeByte.list)
            buffer.writeBananaWord(BananaVocabulary.none, vocabulary: vocabulary)
        case .bool(let flag):
            buffer.writeBananaHeader(2, type: BananaTypeByte.list)
            buffer.writeBananaPlainWord("boolean")
            buffer.writeBananaPlainWord(flag ? "true" : "false")
        case .int(let integer):
            buffer.writeBananaInteger(integer)
        case .bigInt(let integer):
            guard integer.bitWidth <= 448 else { throw BananaError.integerTooLargeToSend }
            buffer.writeBananaBigInteger(integer)
        case .float(let number):
            buffer.writeBananaFloat(number)
        case .bytes(let bytes):
            try buffer.writeBananaBytes(bytes, vocabulary: vocabulary)
        case .string(let text):
            buffer.writeBananaHeader(2, type: BananaTypeByte.list)
            buffer.writeBananaPlainWord("unicode")
            try writeUTF8(text, into: &buffer)
        case .list(let items):
            try writeSequence(BananaVocabulary.list, items, into: &buffer)
        case .tuple(let items):
            try writeSequence(BananaVocabulary.tuple, items, into: &buffer)
        case .set(let items):
            try buffer.writeBananaListHeader(items.count + 1)
            buffer.writeBananaPlainWord("set")
            for index in items.indices { try write(items[index], into: &buffer) }
        case .frozenSet(let items):
            try buffer.writeBananaListHeader(items.count + 1)
            buffer.writeBananaPlainWord("frozenset")
            for index in items.indices { try write(items[index], into: &buffer) }
        case .dictionary(let dictionary):
            try writeDictionary(dictionary, keysAsText: false, into: &buffer)
        case .shared(let shared):
            guard planned else { throw SharingNeedsPlan() }
            let identity = ObjectIdentifier(shared)
            guard let refid = refids[identity] else {
                try write(shared.value, into: &buffer)
                return
            }
            if written.contains(identity) {
                buffer.writeBananaHeader(2, type: BananaTypeByte.list)
                buffer.writeBananaWord(BananaVocabulary.dereference, vocabulary: vocabulary)
                buffer.writeBananaInteger(refid)
            } else {
                written.insert(identity)
                buffer.writeBananaHeader(3, type: BananaTypeByte.list)
                buffer.writeBananaWord(BananaVocabulary.reference, vocabulary: vocabulary)
                buffer.writeBananaInteger(refid)
                try write(shared.value, into: &buffer)
            }
        case .remote(let luid):
            buffer.writeBananaTaggedInteger(BananaVocabulary.remote, luid, vocabulary: vocabulary)
        case .local(let luid):
            buffer.writeBananaTaggedInteger(BananaVocabulary.local, luid, vocabulary: vocabulary)
        case .object(let object):
            let reference = try objects(object)
            switch reference {
            case .remote, .local: try write(reference, into: &buffer)
            default: throw JellyError.unencodableObject("the objects hook answered neither remote nor local")
            }
        case .failure(let failure):
            buffer.writeBananaHeader(2, type: BananaTypeByte.list)
            buffer.writeBananaPlainWord("twisted.spread.pb.CopyableFailure")
            try writeDictionary(failure.stateToSend, keysAsText: false, into: &buffer)
        case .unpersistable(let reason):
            buffer.writeBananaHeader(2, type: BananaTypeByte.list)
            buffer.writeBananaWord(BananaVocabulary.unpersistable, vocabulary: vocabulary)
            try writeUTF8(reason, into: &buffer)
        }
    }

    @inline(__always)
    private mutating func writeSequence(_ word: UInt8, _ items: [JellyValue], into buffer: inout BananaOutput) throws {
        try buffer.writeBananaListHeader(items.count + 1)
        buffer.writeBananaWord(word, vocabulary: vocabulary)
        for index in items.indices { try write(items[index], into: &buffer) }
    }

    /// Writes `[V:dictionary, [k, v]…]`; with `keysAsText`, byte-string keys that are valid
    /// UTF-8 are sent as Python `str` (what `perspective_` methods need for keyword arguments).
    mutating func writeDictionary(_ dictionary: JellyDictionary, keysAsText: Bool, into buffer: inout BananaOutput) throws {
        try buffer.writeBananaListHeader(dictionary.entries.count + 1)
        buffer.writeBananaWord(BananaVocabulary.dictionary, vocabulary: vocabulary)
        let entries = dictionary.entries
        for index in entries.indices {
            buffer.writeBananaHeader(2, type: BananaTypeByte.list)
            if keysAsText, case .bytes(let bytes) = entries[index].key, bytes.withUnsafeBytes({ JellyDecoder.text($0) != nil }) {
                buffer.writeBananaHeader(2, type: BananaTypeByte.list)
                buffer.writeBananaPlainWord("unicode")
                try buffer.writeBananaBytes(bytes, vocabulary: vocabulary)
            } else {
                try write(entries[index].key, into: &buffer)
            }
            try write(entries[index].value, into: &buffer)
        }
    }

    @inline(__always)
    private func writeUTF8(_ text: String, into buffer: inout BananaOutput) throws {
        var text = text
        try text.withUTF8 { (utf8) throws in
            try buffer.writeBananaBytes(UnsafeRawBufferPointer(utf8), vocabulary: vocabulary)
        }
    }

    /// Writes a keyword dictionary as its own jelly call (keys as text).
    mutating func encodeKeywords(_ keywords: JellyDictionary, into buffer: inout BananaOutput) throws {
        let start = buffer.count
        planned = false
        do {
            try writeDictionary(keywords, keysAsText: true, into: &buffer)
        } catch is SharingNeedsPlan {
            buffer.truncate(to: start)
            var planner = SharingPlanner()
            planner.visit(.dictionary(keywords))
            refids = planner.refids
            written = []
            planned = true
            try writeDictionary(keywords, keysAsText: true, into: &buffer)
        }
    }
}
