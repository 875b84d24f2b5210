/// Banana and PB bytes written by hand, so that an attack sends exactly the bytes it means
/// (perspective-broker-wire.md section 2): a base-128 little-endian prefix, then the type byte.
enum Wire {
    static let list: UInt8 = 0x80
    static let int: UInt8 = 0x81
    static let string: UInt8 = 0x82
    static let neg: UInt8 = 0x83
    static let vocab: UInt8 = 0x87

    /// The base-128, least significant digit first prefix of `value` (0 is one `00` byte).
    static func prefix(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            bytes.append(UInt8(value & 0x7f))
            value >>= 7
        } while value > 0
        return bytes
    }

    /// An element header: the prefix of `value`, then `type`.
    static func header(_ value: UInt64, _ type: UInt8) -> [UInt8] {
        prefix(value) + [type]
    }

    /// The client's dialect choice, a bare STRING `pb` (`02 82 70 62`).
    static let dialectChoice: [UInt8] = [0x02, 0x82, 0x70, 0x62]
    /// `[V:version, 6]`.
    static let version: [UInt8] = [0x02, 0x80, 0x13, 0x87, 0x06, 0x81]
    /// What a client sends first: the dialect choice and its version.
    static let handshake: [UInt8] = dialectChoice + version
    /// The server's dialect offer `[b"pb", b"none"]`.
    static let dialectOffer: [UInt8] = [0x02, 0x80, 0x02, 0x82, 0x70, 0x62, 0x04, 0x82, 0x6e, 0x6f, 0x6e, 0x65]

    /// `[message, id, object, method, answerRequired, [tuple, args…], [dictionary, kwargs…]]`.
    static func call(_ requestID: Int, _ object: ObjectID, _ method: String, _ arguments: [W] = [],
                     keywords: [(W, W)] = [], answerRequired: Bool = true) -> [UInt8] {
        W.list([
            .vocab(V.message), .int(requestID), object.element, .method(method), .int(answerRequired ? 1 : 0),
            .tuple(arguments), .list([.vocab(V.dictionary)] + keywords.map { .list([$0.0, $0.1]) }),
        ]).encoded
    }

    /// `[decref, luid]`.
    static func decref(_ luid: Int) -> [UInt8] { W.list([.vocab(V.decref), .int(luid)]).encoded }

    /// `[answer, id, value]`.
    static func answer(_ requestID: Int, _ value: W) -> [UInt8] { W.list([.vocab(V.answer), .int(requestID), value]).encoded }

    /// `[error, id, value]`.
    static func error(_ requestID: Int, _ value: W) -> [UInt8] { W.list([.vocab(V.error), .int(requestID), value]).encoded }

    /// A call on `object` whose only argument is `depth` lists nested in one another
    /// (`[list, [list, … [list]]]`), built without recursion.
    static func deeplyNestedCall(_ requestID: Int, _ object: ObjectID, _ method: String, depth: Int) -> [UInt8] {
        var bytes = header(7, list) + [V.message, vocab]
        bytes += W.int(requestID).encoded + object.element.encoded + W.method(method).encoded + W.int(1).encoded
        bytes += header(2, list) + [V.tuple, vocab]
        bytes.reserveCapacity(bytes.count + depth * 4 + 8)
        for _ in 1..<depth { bytes += [0x02, list, V.list, vocab] }
        bytes += [0x01, list, V.list, vocab]
        bytes += header(1, list) + [V.dictionary, vocab]
        return bytes
    }

    /// The argument tuple of the reference-chain attack: `count` lists, each holding the one
    /// before it through `[reference, n, [list, [dereference, n-1]]]` (the first holds nothing).
    static func referenceChain(count: Int) -> [W] {
        var items: [W] = [.list([.vocab(V.reference), .int(1), .list([.vocab(V.list)])])]
        items.reserveCapacity(count)
        for n in stride(from: 2, through: count, by: 1) {
            items.append(.list([.vocab(V.reference), .int(n),
                                .list([.vocab(V.list), .list([.vocab(V.dereference), .int(n - 1)])])]))
        }
        return items
    }

    /// `[reference, 1, [list, [dereference, 1]]]`: a list that holds itself.
    static let referenceCycle: W = .list([.vocab(V.reference), .int(1),
                                          .list([.vocab(V.list), .list([.vocab(V.dereference), .int(1)])])])
}

/// The object a call addresses: `b"root"` or an exported luid.
enum ObjectID: Sendable {
    case root
    case luid(Int)

    var element: W {
        switch self {
        case .root: .str("root")
        case .luid(let luid): .int(luid)
        }
    }
}

/// The `pb` dialect's vocabulary indexes used here (Sources/Banana/BananaVocabulary.swift).
enum V {
    static let none: UInt8 = 1
    static let dereference: UInt8 = 3
    static let reference: UInt8 = 4
    static let dictionary: UInt8 = 5
    static let list: UInt8 = 8
    static let tuple: UInt8 = 11
    static let remote: UInt8 = 16
    static let version: UInt8 = 19
    static let login: UInt8 = 20
    static let message: UInt8 = 26
    static let answer: UInt8 = 27
    static let error: UInt8 = 28
    static let decref: UInt8 = 29

    /// The whole table, index 0 unused, to read what a peer sends.
    static let words: [String] = [
        "", "None", "class", "dereference", "reference", "dictionary", "function", "instance", "list",
        "module", "persistent", "tuple", "unpersistable", "copy", "cache", "cached", "remote", "local",
        "lcache", "version", "login", "password", "challenge", "logged_in", "not_logged_in",
        "cachemessage", "message", "answer", "error", "decref", "decache", "uncache",
    ]
}

/// One Banana element to encode (shallow trees only: deep ones are written with loops).
indirect enum W: Sendable {
    case list([W])
    case int(Int)
    case bytes([UInt8])
    case vocab(UInt8)
    /// Bytes sent as they are.
    case raw([UInt8])

    static func str(_ text: String) -> W { .bytes(Array(text.utf8)) }
    /// A jellied `str`: `[b"unicode", utf8]`.
    static func unicode(_ text: String) -> W { .list([.str("unicode"), .str(text)]) }
    static let none: W = .list([.vocab(V.none)])
    static func tuple(_ items: [W]) -> W { .list([.vocab(V.tuple)] + items) }
    static func bool(_ flag: Bool) -> W { .list([.str("boolean"), .str(flag ? "true" : "false")]) }
    /// `[dictionary, [k, v]…]` with str keys.
    static func dictionary(_ entries: [(String, W)]) -> W {
        .list([.vocab(V.dictionary)] + entries.map { .list([.unicode($0.0), $0.1]) })
    }
    /// A method name as Twisted sends it: VOCAB when it is a vocabulary word.
    static func method(_ name: String) -> W {
        if let index = V.words.firstIndex(of: name), index > 0 { return .vocab(UInt8(index)) }
        return .str(name)
    }

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    func encode(into bytes: inout [UInt8]) {
        switch self {
        case .list(let items):
            bytes += Wire.header(UInt64(items.count), Wire.list)
            for item in items { item.encode(into: &bytes) }
        case .int(let value):
            bytes += Wire.header(UInt64(value.magnitude), value < 0 ? Wire.neg : Wire.int)
        case .bytes(let data):
            bytes += Wire.header(UInt64(data.count), Wire.string)
            bytes += data
        case .vocab(let index):
            bytes += Wire.header(UInt64(index), Wire.vocab)
        case .raw(let data):
            bytes += data
        }
    }
}

/// A decoded Banana element (VOCAB already turned into its word).
indirect enum Element: Sendable, Equatable, CustomStringConvertible {
    case list([Element])
    case int(Int64)
    case string([UInt8])
    case float(Double)

    var items: [Element]? { if case .list(let items) = self { items } else { nil } }
    var intValue: Int? { if case .int(let value) = self { Int(value) } else { nil } }
    var bytes: [UInt8]? { if case .string(let bytes) = self { bytes } else { nil } }
    var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    /// The head word of a list (`answer`, `message`, `remote`…).
    var head: String? { items?.first?.text }

    /// The luid of `[remote, N]`, looking inside tuples and `reference` wrappers.
    var remoteLuid: Int? {
        guard let items else { return nil }
        if head == "remote", items.count == 2 { return items[1].intValue }
        if head == "reference", items.count == 3 { return items[2].remoteLuid }
        return nil
    }

    /// Whether this is a jellied CopyableFailure (or any value) that names `type` anywhere in it.
    func mentions(_ needle: String) -> Bool {
        var pending: [Element] = [self]
        let target = Array(needle.utf8)
        while let next = pending.popLast() {
            switch next {
            case .list(let items): pending += items
            case .string(let bytes):
                if bytes.count >= target.count, String(decoding: bytes, as: UTF8.self).contains(needle) { return true }
            default: break
            }
        }
        return false
    }

    var description: String {
        switch self {
        case .list(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .int(let value): "\(value)"
        case .float(let value): "\(value)"
        case .string(let bytes):
            bytes.count > 80 ? "b'<\(bytes.count) bytes>'" : "b'" + String(decoding: bytes, as: UTF8.self) + "'"
        }
    }
}

enum WireError: Error, CustomStringConvertible {
    case malformed(String)
    var description: String { if case .malformed(let why) = self { "malformed Banana: \(why)" } else { "" } }
}

/// Reads whole Banana elements from a growing buffer, without recursion. Meant for what our
/// own daemons or the subordinate under test send (small messages); bounded all the same.
struct ElementReader {
    private(set) var buffer: [UInt8] = []
    private var start = 0
    /// Refuses strings longer than this (the peer under test never needs more).
    var maxStringBytes = 16 << 20

    mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 65_536, start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    var pendingBytes: Int { buffer.count - start }

    /// The next whole element, or nil when more bytes are needed.
    mutating func next() throws -> Element? {
        guard let (element, end) = try Self.parse(buffer, from: start, maxStringBytes: maxStringBytes) else { return nil }
        start = end
        return element
    }

    /// Skips whole top-level elements without building them; answers how many.
    mutating func skipWhole() throws -> Int {
        var count = 0
        while let end = try Self.skip(buffer, from: start) {
            start = end
            count += 1
        }
        return count
    }

    /// The end of the element at `offset`, or nil when it is not whole yet.
    static func skip(_ bytes: [UInt8], from offset: Int) throws -> Int? {
        var index = offset
        var remaining: [Int] = []
        while true {
            var value: UInt64 = 0
            var digits = 0
            while index < bytes.count, bytes[index] < 0x80 {
                guard digits < 64 else { throw WireError.malformed("prefix longer than 64 bytes") }
                if digits < 9 { value |= UInt64(bytes[index]) << UInt64(7 * digits) }
                digits += 1
                index += 1
            }
            guard index < bytes.count else { return nil }
            let type = bytes[index]
            index += 1
            switch type {
            case 0x80:
                if value > 0 {
                    remaining.append(Int(value))
                    continue
                }
            case 0x82:
                guard bytes.count - index >= Int(value) else { return nil }
                index += Int(value)
            case 0x84:
                guard bytes.count - index >= 8 else { return nil }
                index += 8
            case 0x81, 0x83, 0x85, 0x86, 0x87:
                break
            default:
                throw WireError.malformed("type byte \(type)")
            }
            while true {
                guard let last = remaining.last else { return index }
                if last > 1 {
                    remaining[remaining.count - 1] = last - 1
                    break
                }
                remaining.removeLast()
            }
        }
    }

    static func parse(_ bytes: [UInt8], from offset: Int, maxStringBytes: Int) throws -> (Element, Int)? {
        var index = offset
        var stack: [(remaining: Int, items: [Element])] = []
        while true {
            var value: UInt64 = 0
            var digits = 0
            while index < bytes.count, bytes[index] < 0x80 {
                guard digits < 64 else { throw WireError.malformed("prefix longer than 64 bytes") }
                if digits < 9 { value |= UInt64(bytes[index]) << UInt64(7 * digits) } else if bytes[index] != 0 {
                    throw WireError.malformed("prefix too large")
                }
                digits += 1
                index += 1
            }
            guard index < bytes.count else { return nil }
            let type = bytes[index]
            index += 1
            var element: Element
            switch type {
            case 0x80:
                guard value <= 655_360 else { throw WireError.malformed("list of \(value)") }
                if value > 0 {
                    stack.append((Int(value), []))
                    continue
                }
                element = .list([])
            case 0x81, 0x85:
                element = .int(Int64(truncatingIfNeeded: value))
            case 0x83, 0x86:
                element = .int(-Int64(truncatingIfNeeded: value))
            case 0x82:
                guard value <= UInt64(maxStringBytes) else { throw WireError.malformed("string of \(value)") }
                guard bytes.count - index >= Int(value) else { return nil }
                element = .string(Array(bytes[index..<(index + Int(value))]))
                index += Int(value)
            case 0x84:
                guard bytes.count - index >= 8 else { return nil }
                var bits: UInt64 = 0
                for byte in bytes[index..<(index + 8)] { bits = bits << 8 | UInt64(byte) }
                element = .float(Double(bitPattern: bits))
                index += 8
            case 0x87:
                guard value > 0, value < UInt64(V.words.count) else { throw WireError.malformed("vocab \(value)") }
                element = .string(Array(V.words[Int(value)].utf8))
            default:
                throw WireError.malformed("type byte \(type)")
            }
            while true {
                guard !stack.isEmpty else { return (element, index) }
                stack[stack.count - 1].items.append(element)
                stack[stack.count - 1].remaining -= 1
                guard stack[stack.count - 1].remaining == 0 else { break }
                element = .list(stack.removeLast().items)
            }
        }
    }
}
