/// Finds where one complete top-level Banana element ends, enforcing every limit as soon
/// as the bytes that break it arrive (a huge length is refused at its header, before its
/// payload). Resumable: when the element is incomplete it remembers how far it got, so
/// a message arriving in many reads is scanned once overall.
struct BananaScanner {
    /// What the top-level element must be.
    enum TopLevelRule {
        /// A LIST (PB messages, the dialect offer).
        case list
        /// A bare STRING (the dialect choice).
        case string
        /// Any element (lower-level helpers).
        case any
    }

    private(set) var limits: BananaLimits
    /// The depth limit actually enforced: `limits.maxDepth`, at most `depthCeiling`.
    private(set) var maxDepth: Int
    /// Where to resume: the start of the first header not yet accepted, relative to the element start.
    private var resumeOffset = 0
    /// Elements still expected by each open list, outermost first: `openLists[0..<depth]`.
    /// Allocated once at full depth so that the scan loop works on a raw pointer.
    private var openLists: [Int]
    /// Number of open lists.
    private var depth = 0

    /// No configuration nests deeper than this (the decoder recurses once per level).
    static let depthCeiling = 1024

    init(limits: BananaLimits) {
        self.limits = limits
        self.maxDepth = max(0, min(limits.maxDepth, Self.depthCeiling))
        self.openLists = [Int](repeating: 0, count: maxDepth + 1)
    }

    /// Enforces `limits` from now on, also on the rest of a partly scanned element.
    mutating func update(limits: BananaLimits) {
        self.limits = limits
        maxDepth = max(0, min(limits.maxDepth, Self.depthCeiling))
        if openLists.count < maxDepth + 1 {
            openLists.append(contentsOf: repeatElement(0, count: maxDepth + 1 - openLists.count))
        }
    }

    /// Forgets a partly scanned element (after an element was consumed).
    mutating func reset() {
        resumeOffset = 0
        depth = 0
    }

    /// The length of the complete element at the start of `bytes`, or nil when more bytes are needed.
    mutating func scan(_ bytes: UnsafeRawBufferPointer, vocabularyAllowed: Bool, topLevel: TopLevelRule) throws(BananaError) -> Int? {
        var depth = self.depth
        var resumeOffset = self.resumeOffset
        let result: Result<Int?, BananaError> = openLists.withUnsafeMutableBufferPointer { openLists in
            do throws(BananaError) {
                return .success(try Self.scan(bytes, limits: limits, maxDepth: maxDepth, stack: openLists,
                                              depth: &depth, resumeOffset: &resumeOffset,
                                              vocabularyAllowed: vocabularyAllowed, topLevel: topLevel))
            } catch {
                return .failure(error)
            }
        }
        self.depth = depth
        self.resumeOffset = resumeOffset
        return try result.get()
    }

    /// The scan loop; `stack[0..<depth]` holds the open lists' remaining counts. It starts at
    /// `resumeOffset`; on "need more bytes" it leaves there the header to resume at; on
    /// completion, 0.
    @inline(__always)
    private static func scan(_ bytes: UnsafeRawBufferPointer, limits: BananaLimits, maxDepth: Int,
                             stack openLists: UnsafeMutableBufferPointer<Int>, depth: inout Int, resumeOffset: inout Int,
                             vocabularyAllowed: Bool, topLevel: TopLevelRule) throws(BananaError) -> Int? {
        var position = resumeOffset
        let available = bytes.count
        while true {
            let headerStart = position
            let searchEnd = min(available, position + limits.maxPrefixBytes + 1)
            var typeIndex = position
            while typeIndex < searchEnd, bytes[typeIndex] < 0x80 { typeIndex += 1 }
            if typeIndex == searchEnd {
                if typeIndex - headerStart > limits.maxPrefixBytes { throw .prefixTooLong(limit: limits.maxPrefixBytes) }
                if typeIndex > limits.maxMessageBytes { throw .messageTooLarge(limit: limits.maxMessageBytes) }
                resumeOffset = headerStart
                return nil
            }
            let type = bytes[typeIndex]
            if depth == 0 {
                switch topLevel {
                case .list:
                    if type != BananaTypeByte.list { throw .nonListMessage }
                case .string:
                    if type == BananaTypeByte.vocabulary { throw .vocabularyNotAllowed }
                    if type != BananaTypeByte.string { throw .badDialectNegotiation("the first element is not a dialect name") }
                case .any:
                    break
                }
            }
            position = typeIndex + 1
            switch type {
            case BananaTypeByte.list:
                let count = Self.cappedPrefix(bytes, from: headerStart, to: typeIndex)
                if count > limits.maxListCount { throw .listTooLong(count: count, limit: limits.maxListCount) }
                if depth + 1 > maxDepth { throw .tooDeep(limit: maxDepth) }
                if position > limits.maxMessageBytes { throw .messageTooLarge(limit: limits.maxMessageBytes) }
                if count > 0 {
                    openLists[depth] = count
                    depth += 1
                    continue
                }
            case BananaTypeByte.int, BananaTypeByte.negative, BananaTypeByte.longInt, BananaTypeByte.longNegative:
                break
            case BananaTypeByte.string:
                let length = Self.cappedPrefix(bytes, from: headerStart, to: typeIndex)
                if length > limits.maxStringBytes { throw .stringTooLong(length: length, limit: limits.maxStringBytes) }
                let end = position + length
                if end > limits.maxMessageBytes { throw .messageTooLarge(limit: limits.maxMessageBytes) }
                if end > available {
                    resumeOffset = headerStart
                    return nil
                }
                position = end
            case BananaTypeByte.float:
                let end = position + 8
                if end > available {
                    resumeOffset = headerStart
                    return nil
                }
                position = end
            case BananaTypeByte.vocabulary:
                if !vocabularyAllowed { throw .vocabularyNotAllowed }
                let index = Self.cappedPrefix(bytes, from: headerStart, to: typeIndex)
                if index < 1 || index > BananaVocabulary.maxIndex { throw .unknownVocabulary(index: index) }
            default:
                throw .invalidTypeByte(type)
            }
            if position > limits.maxMessageBytes { throw .messageTooLarge(limit: limits.maxMessageBytes) }
            // One element is complete; close every list it completes.
            while true {
                if depth == 0 {
                    resumeOffset = 0
                    return position
                }
                openLists[depth - 1] -= 1
                if openLists[depth - 1] > 0 { break }
                depth -= 1
            }
        }
    }

    /// The prefix value, or `Int.max` when it does not fit (it then exceeds every limit).
    @inline(__always)
    static func cappedPrefix(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        var value = 0
        var index = end
        while index > start {
            index -= 1
            if value > (Int.max >> 7) { return Int.max }
            value = (value << 7) | Int(bytes[index])
        }
        return value
    }
}
