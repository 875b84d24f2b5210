import Banana

/// Banana bytes written by hand: the worst shapes a peer may send within a size bound.
enum HostileShapes {
    static func header(_ value: Int, _ type: UInt8) -> [UInt8] { BananaBytes.header(value, type) }
    static func list(_ count: Int) -> [UInt8] { BananaBytes.list(count) }
    static func int(_ value: Int) -> [UInt8] { BananaBytes.int(value) }
    static func string(_ bytes: [UInt8]) -> [UInt8] { BananaBytes.string(bytes) }
    static func vocab(_ index: Int) -> [UInt8] { BananaBytes.vocab(index) }
    static let reference = vocab(4), dereference = vocab(3), listWord = vocab(8), tupleWord = vocab(11), dictionaryWord = vocab(5)

    /// `[message, requestID, object, method, 1, (items...), {}]` with `items` already encoded.
    static func call(requestID: Int, object: Int?, method: String, items: [[UInt8]]) -> [UInt8] {
        var bytes = list(7) + vocab(26) + int(requestID)
        bytes += object.map { int($0) } ?? string(Array("root".utf8))
        bytes += string(Array(method.utf8)) + int(1)
        bytes += list(items.count + 1) + tupleWord
        for item in items { bytes += item }
        return bytes + list(1) + dictionaryWord
    }

    /// Items of about `budget` bytes in all, for each shape.
    static func items(_ shape: String, budget: Int) -> [[UInt8]] {
        switch shape {
        case "tiny-strings":
            // Lists of 1-byte strings: one allocation per 3 bytes on the wire.
            let perList = min(4_000, max(1, budget / 3))
            let lists = max(1, budget / (perList * 3))
            return (0..<lists).map { _ in list(perList + 1) + listWord + Array((0..<perList).map { _ in string([0x61]) }.joined()) }
        case "deep-nesting":
            // Chains of 56 nested lists (the depth limit is 64, the call itself takes 3).
            let chain = Array((0..<56).map { _ in list(2) + listWord }.joined()) + list(1) + listWord
            return Array(repeating: chain, count: max(1, budget / chain.count))
        case "reference-chain":
            // Lists each holding the one before through a dereference, as long as the depth allows.
            var items: [[UInt8]] = []
            var size = 0
            var refid = 0
            while size < budget, refid < 1_000 {
                refid += 1
                let item = refid % 28 == 1
                    ? list(3) + reference + int(refid) + list(1) + listWord
                    : list(3) + reference + int(refid) + list(2) + listWord + list(2) + dereference + int(refid - 1)
                items.append(item)
                size += item.count
            }
            return items
        case "reference-ladder":
            // Each rung holds the one before twice: unfolds to the allowance, then stops.
            var items: [[UInt8]] = [list(3) + reference + int(1) + list(2) + listWord + string(Array(repeating: 0x61, count: 64))]
            for refid in 2...40 {
                items.append(list(3) + reference + int(refid) + list(3) + listWord
                             + list(2) + dereference + int(refid - 1) + list(2) + dereference + int(refid - 1))
            }
            return items
        case "wide-dictionary":
            let entries = min(4_000, max(1, budget / 12))
            var dictionary = list(entries + 1) + dictionaryWord
            for index in 0..<entries { dictionary += list(2) + string(Array("k\(index)".utf8)) + int(index) }
            return [dictionary]
        case "big-integers":
            // Integers written with 60 prefix bytes each (the prefix limit is 64).
            let one = Array(repeating: UInt8(0x7f), count: 60) + [0x85]
            return Array(repeating: one, count: max(1, budget / one.count))
        default:
            return []
        }
    }

    static let all = ["tiny-strings", "deep-nesting", "reference-chain", "reference-ladder", "wide-dictionary", "big-integers"]
}
