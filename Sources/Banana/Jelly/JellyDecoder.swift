/// Turns the Banana elements of one jelly call into a `JellyValue`, refusing what
/// Twisted's `globalSecurity` refuses. One decoder per jelly call: refids are per call.
///
/// What a peer shapes is bounded here, so that everything above may walk a decoded value
/// naively: literal nesting and the depth reached through `dereference` count against one
/// depth limit (a value is never deeper than `BananaLimits.maxDepth`, however its depth was
/// built), a value holds at most `maxReferences` references, its dereferences stand for at
/// most as many bytes as its message plus `referenceAllowance` (so a value unfolds to at most
/// twice its size plus a constant), and cycles are refused. Decoding recurses once per literal level only, which the
/// scanner has already bounded.
struct JellyDecoder {
    /// A value introduced by `reference`, with what a `dereference` to it stands for.
    private struct Reference {
        let value: SharedJellyValue
        /// List levels of the `reference` list and everything under it, dereferences included.
        let height: Int
        /// Bytes the value unfolds to: its own bytes plus what dereferences inside it stand for.
        let unfoldedBytes: Int
    }

    /// Values introduced by `reference`, by refid.
    private var references: [Int: Reference] = [:]
    /// Refids whose `reference` is still being decoded (a `dereference` to one is a cycle).
    private var unfinishedReferences: Set<Int> = []
    private let maxDepth: Int
    private let maxReferences: Int
    private let maxExpansion: Int
    private var referenceCount = 0
    /// The literal depth of the list being decoded (the enclosing PB message is depth 1).
    private var depth: Int
    /// The deepest level reached so far, dereferences counted at the depth they stand for.
    private var deepest: Int
    /// Bytes the dereferences decoded so far stand for.
    private var expansion = 0

    /// Bytes that dereferences may stand for beyond the size of their message: room for
    /// Twisted's sharing of small values (a chain of 30 nested lists passed as separate
    /// arguments unfolds to about 20 KiB) while any walk stays linear in the message's size.
    static let referenceAllowance = 65_536

    /// A decoder for one jelly value of a message of `messageBytes` bytes, whose own list
    /// sits at depth `baseDepth` (1 for the payloads of a PB message, 0 for a bare value).
    init(limits: BananaLimits = .twisted, baseDepth: Int = 0, messageBytes: Int) {
        self.maxDepth = max(0, min(limits.maxDepth, BananaScanner.depthCeiling))
        self.maxReferences = max(0, limits.maxReferences)
        self.maxExpansion = max(0, messageBytes) + Self.referenceAllowance
        self.depth = baseDepth
        self.deepest = baseDepth
    }

    /// Decodes one element.
    mutating func decode(_ reader: inout BananaReader) throws -> JellyValue {
        switch try reader.next() {
        case .int(let value): return .int(value)
        case .bigInt(let digits, let negative): return .bigInt(reader.bigInteger(digits: digits, negative: negative))
        case .float(let value): return .float(value)
        case .string(let range): return .bytes(reader.array(range))
        case .vocabulary(let index): return .bytes(BananaVocabulary.words[Int(index)])
        case .list(let count):
            depth += 1
            defer { depth -= 1 }
            if depth > deepest { deepest = depth }
            return try decodeList(count: count, &reader)
        }
    }

    private mutating func decodeList(count: Int, _ reader: inout BananaReader) throws -> JellyValue {
        guard count > 0 else { throw JellyError.malformed("an empty list names no type") }
        let head: JellyHead
        switch try reader.next() {
        case .vocabulary(let index):
            head = JellyHead(vocabulary: index)
            if head == .refused { throw JellyError.insecure(head: JellyHead.pythonRepr(BananaVocabulary.words[Int(index)])) }
        case .string(let range):
            let bytes = reader.slice(range)
            head = JellyHead(bytes: bytes)
            if head == .refused { throw JellyError.insecure(head: JellyHead.pythonRepr(bytes)) }
        case .int(let value): throw JellyError.insecure(head: String(value))
        case .bigInt(let digits, let negative): throw JellyError.insecure(head: reader.bigInteger(digits: digits, negative: negative).description)
        case .float(let value): throw JellyError.insecure(head: String(value))
        case .list: throw JellyError.malformed("a list names no type")
        }
        let rest = count - 1
        switch head {
        case .none:
            try skip(rest, &reader)
            return .none
        case .unicode:
            try expect(rest, 1, "unicode")
            switch try reader.next() {
            case .string(let range):
                guard let text = Self.text(reader.slice(range)) else {
                    throw JellyError.malformed("unicode holds invalid UTF-8")
                }
                return .string(text)
            case .vocabulary(let index):
                // Twisted sends the str "tuple" as [unicode, V:tuple]: VOCAB stands for its word everywhere.
                return .string(String(decoding: BananaVocabulary.words[Int(index)], as: UTF8.self))
            default:
                throw JellyError.malformed("unicode holds no byte string")
            }
        case .boolean:
            try expect(rest, 1, "boolean")
            guard case .string(let range) = try reader.next() else { throw JellyError.malformed("boolean holds no byte string") }
            let word = reader.slice(range)
            if BananaVocabulary.matches(word, "true") { return .bool(true) }
            if BananaVocabulary.matches(word, "false") { return .bool(false) }
            throw JellyError.malformed("boolean is neither true nor false")
        case .list: return .list(try decodeItems(rest, &reader))
        case .tuple: return .tuple(try decodeItems(rest, &reader))
        case .set: return .set(try decodeItems(rest, &reader))
        case .frozenSet: return .frozenSet(try decodeItems(rest, &reader))
        case .dictionary: return .dictionary(try decodeDictionary(rest, &reader))
        case .reference:
            try expect(rest, 2, "reference")
            referenceCount += 1
            if referenceCount > maxReferences { throw JellyError.tooManyReferences(limit: maxReferences) }
            let refid = try decodeRefid(&reader)
            let referenceDepth = depth
            let outerDeepest = deepest
            let start = reader.position
            let expansionBefore = expansion
            unfinishedReferences.insert(refid)
            let shared = SharedJellyValue(try decode(&reader))
            unfinishedReferences.remove(refid)
            references[refid] = Reference(value: shared, height: deepest - referenceDepth + 1,
                                          unfoldedBytes: reader.position - start + expansion - expansionBefore)
            deepest = max(deepest, outerDeepest)
            return .shared(shared)
        case .dereference:
            try expect(rest, 1, "dereference")
            let refid = try decodeRefid(&reader)
            guard let reference = references[refid] else {
                if unfinishedReferences.contains(refid) { throw JellyError.cyclicReference(refid: refid) }
                throw JellyError.unknownReference(refid: refid)
            }
            // The dereference list stands for the reference list, one level up from here.
            let reached = depth - 1 + reference.height
            if reached > maxDepth { throw JellyError.tooDeep(limit: maxDepth) }
            if reached > deepest { deepest = reached }
            expansion += reference.unfoldedBytes
            if expansion > maxExpansion { throw JellyError.referencesTooLarge(limit: maxExpansion) }
            return .shared(reference.value)
        case .unpersistable:
            guard rest >= 1 else { throw JellyError.malformed("unpersistable without a reason") }
            let reason = try decode(&reader)
            try skip(rest - 1, &reader)
            return .unpersistable(reason.stringValue ?? "unpersistable")
        case .persistent:
            try skip(rest, &reader)
            return .unpersistable("Persistent callback not found")
        case .datetime, .date, .time, .timedelta:
            try expect(rest, 1, "a date or time")
            guard case .string(let range) = try reader.next(),
                  let text = Self.text(reader.slice(range))
            else { throw JellyError.malformed("a date or time without its text") }
            return .unpersistable("\(head) \(text)")
        case .decimal:
            try expect(rest, 2, "decimal")
            let digits = try decode(&reader)
            let exponent = try decode(&reader)
            guard digits.intValue != nil || { if case .bigInt = digits { return true } else { return false } }(),
                  let exponentValue = exponent.intValue
            else { throw JellyError.malformed("decimal without integers") }
            let digitsText: String
            switch digits {
            case .int(let value): digitsText = String(value)
            case .bigInt(let value): digitsText = value.description
            default: digitsText = ""
            }
            return .unpersistable("decimal \(digitsText) \(exponentValue)")
        case .remote, .local:
            try expect(rest, 1, head == .remote ? "remote" : "local")
            guard case .int(let luid) = try reader.next() else { throw JellyError.malformed("object reference without an integer luid") }
            return head == .remote ? .remote(luid) : .local(luid)
        case .copyableFailure:
            try expect(rest, 1, "CopyableFailure")
            let state = try decode(&reader)
            guard let dictionary = state.dictionaryValue else { throw JellyError.malformed("CopyableFailure state is not a dictionary") }
            return .failure(try JellyFailure(state: dictionary))
        case .refused:
            throw JellyError.malformed("refused head")  // handled above; kept for exhaustiveness
        }
    }

    /// The UTF-8 text of `bytes`, or nil when it is not valid UTF-8. ASCII (the common case)
    /// is checked by a plain loop; `String(validating:)` instantiates generic metadata on
    /// every call and dominated decoding time.
    @inline(__always)
    static func text(_ bytes: UnsafeRawBufferPointer) -> String? {
        let utf8 = UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        var isASCII = true
        for byte in utf8 where byte >= 0x80 {
            isASCII = false
            break
        }
        let text = String(decoding: utf8, as: UTF8.self)
        if isASCII { return text }
        // Decoding replaces invalid sequences, so the text is valid iff it re-encodes to the input.
        return text.utf8.elementsEqual(utf8) ? text : nil
    }

    private mutating func decodeItems(_ count: Int, _ reader: inout BananaReader) throws -> [JellyValue] {
        var items: [JellyValue] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try decode(&reader)) }
        return items
    }

    private mutating func decodeDictionary(_ count: Int, _ reader: inout BananaReader) throws -> JellyDictionary {
        var entries: [(key: JellyValue, value: JellyValue)] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            guard case .list(2) = try reader.next() else { throw JellyError.malformed("dictionary item is not a [key, value] pair") }
            let key = try decode(&reader)
            let value = try decode(&reader)
            entries.append((key: key, value: value))
        }
        return JellyDictionary(entries)
    }

    private func decodeRefid(_ reader: inout BananaReader) throws -> Int {
        guard case .int(let refid) = try reader.next() else { throw JellyError.malformed("reference id is not an integer") }
        return refid
    }

    private func expect(_ count: Int, _ expected: Int, _ what: String) throws {
        if count != expected { throw JellyError.malformed("\(what) with \(count) items instead of \(expected)") }
    }

    private func skip(_ count: Int, _ reader: inout BananaReader) throws {
        for _ in 0..<count { try reader.skipElement() }
    }
}
