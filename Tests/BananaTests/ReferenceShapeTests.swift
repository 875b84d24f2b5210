import Banana
import NIOCore
import Testing

/// Banana bytes written by hand, for shapes our encoder would never produce.
enum Wire {
    static func header(_ value: Int, _ type: UInt8) -> [UInt8] { BananaBytes.header(value, type) }
    static func list(_ count: Int) -> [UInt8] { BananaBytes.list(count) }
    static func int(_ value: Int) -> [UInt8] { BananaBytes.int(value) }
    static func string(_ bytes: [UInt8]) -> [UInt8] { BananaBytes.string(bytes) }
    static func vocab(_ index: Int) -> [UInt8] { BananaBytes.vocab(index) }
    static let reference = vocab(4), dereference = vocab(3), listWord = vocab(8), tupleWord = vocab(11)

    /// A tuple of `count` lists, each holding the one before it through a dereference:
    /// `[reference, n, [list, [dereference, n-1]]]`, as Twisted's jelly sends nested lists.
    static func referenceChain(_ count: Int) -> [UInt8] {
        var bytes = list(count + 1) + tupleWord
        for index in 1...count {
            bytes += list(3) + reference + int(index)
            if index == 1 {
                bytes += list(1) + listWord
            } else {
                bytes += list(2) + listWord + list(2) + dereference + int(index - 1)
            }
        }
        return bytes
    }
}

@Suite("Jelly shapes built with references")
struct ReferenceShapeTests {
    @Test func aShortReferenceChainDecodesAndKeepsItsSharing() throws {
        let value = try decodeJelly(Wire.referenceChain(10))
        guard let items = value.arrayValue, items.count == 10 else { Issue.record("unexpected \(value)"); return }
        // Item 2 holds item 1 itself, not a copy.
        guard case .shared(let first) = items[0], let inner = items[1].arrayValue, case .shared(let held) = inner[0] else {
            Issue.record("no sharing in \(value)")
            return
        }
        #expect(first === held)
    }

    @Test(arguments: [50, 5_000, 50_000])
    func aLongReferenceChainIsRefusedAsTooDeep(_ count: Int) throws {
        // Literal nesting stays at 5; the depth comes from the dereferences.
        let bytes = Wire.referenceChain(count)
        let clock = ContinuousClock()
        let started = clock.now
        #expect(throws: JellyError.tooDeep(limit: 64)) { try decodeJelly(bytes) }
        // Linear, and refused early: nowhere near the seconds the quadratic walk took.
        #expect(clock.now - started < .seconds(2))
    }

    @Test func depthFromReferencesAndLiteralNestingCountTogether() throws {
        // A value nested 40 deep, then referenced from inside 30 more literal levels: 70 > 64.
        var nested: [UInt8] = []
        for _ in 0..<40 { nested += Wire.list(2) + Wire.listWord }
        nested += Wire.list(1) + Wire.listWord
        var bytes = Wire.list(3) + Wire.tupleWord + Wire.list(3) + Wire.reference + Wire.int(1) + nested
        for _ in 0..<30 { bytes += Wire.list(2) + Wire.listWord }
        bytes += Wire.list(2) + Wire.dereference + Wire.int(1)
        #expect(throws: JellyError.tooDeep(limit: 64)) { try decodeJelly(bytes) }
        // The same with 10 more literal levels only is accepted (40 + 10 + a few < 64).
        var shallow = Wire.list(3) + Wire.tupleWord + Wire.list(3) + Wire.reference + Wire.int(1) + nested
        for _ in 0..<10 { shallow += Wire.list(2) + Wire.listWord }
        shallow += Wire.list(2) + Wire.dereference + Wire.int(1)
        #expect(throws: Never.self) { try decodeJelly(shallow) }
    }

    @Test func referencesPerValueAreBounded() throws {
        // 1,025 flat references of empty lists.
        var bytes = Wire.list(1026) + Wire.tupleWord
        for index in 1...1025 { bytes += Wire.list(3) + Wire.reference + Wire.int(index) + Wire.list(1) + Wire.listWord }
        #expect(throws: JellyError.tooManyReferences(limit: 1024)) { try decodeJelly(bytes) }
    }

    @Test func dereferencesCannotUnfoldToMoreThanTheMessage() throws {
        // A doubling ladder: each list holds the previous one twice. 20 rungs would unfold to
        // 2^20 copies of the first; the decoder stops once they stand for more than the message
        // plus the allowance.
        var bytes = Wire.list(21) + Wire.tupleWord
        bytes += Wire.list(3) + Wire.reference + Wire.int(1) + Wire.list(2) + Wire.listWord + Wire.string(Array(repeating: 0x61, count: 100))
        for index in 2...20 {
            bytes += Wire.list(3) + Wire.reference + Wire.int(index) + Wire.list(3) + Wire.listWord
            bytes += Wire.list(2) + Wire.dereference + Wire.int(index - 1)
            bytes += Wire.list(2) + Wire.dereference + Wire.int(index - 1)
        }
        #expect(throws: JellyError.referencesTooLarge(limit: bytes.count + 65_536)) { try decodeJelly(bytes) }
    }

    @Test func aCycleInACallClosesTheConnectionInsteadOfAnsweringIt() throws {
        // [message, 1, "root", "login", 1, (list-containing-itself,), {}]
        var body = Wire.vocab(26) + Wire.int(1) + Wire.string(Array("root".utf8)) + Wire.string(Array("login".utf8)) + Wire.int(1)
        body += Wire.list(2) + Wire.tupleWord + Wire.list(3) + Wire.reference + Wire.int(1) + Wire.list(2) + Wire.listWord
        body += Wire.list(2) + Wire.dereference + Wire.int(1)
        body += Wire.list(1) + Wire.vocab(5)
        var decoder = try serverDecoderAfterHandshake()
        #expect(throws: BananaError.jellyLimit(.cyclicReference(refid: 1))) { try frames(Wire.list(7) + body, &decoder) }
    }

    @Test func aReferenceChainInACallClosesTheConnection() throws {
        var body = Wire.vocab(26) + Wire.int(1) + Wire.string(Array("root".utf8)) + Wire.string(Array("login".utf8)) + Wire.int(1)
        body += Wire.referenceChain(200) + Wire.list(1) + Wire.vocab(5)
        var decoder = try serverDecoderAfterHandshake()
        #expect(throws: BananaError.jellyLimit(.tooDeep(limit: 64))) { try frames(Wire.list(7) + body, &decoder) }
    }

    @Test func strangerLimitsRefuseALargeMessageAtItsHeader() throws {
        // A 500 kB username is refused when its STRING header arrives, before its bytes.
        var body = Wire.vocab(26) + Wire.int(1) + Wire.string(Array("root".utf8)) + Wire.string(Array("login".utf8)) + Wire.int(1)
        body += Wire.list(2) + Wire.tupleWord + Wire.header(500_000, 0x82)
        var decoder = try serverDecoderAfterHandshake(limits: .stranger)
        #expect(throws: BananaError.stringTooLong(length: 500_000, limit: 2048)) { try frames(Wire.list(7) + body, &decoder) }
        // After a login the same decoder takes the full limits.
        var trusted = try serverDecoderAfterHandshake(limits: .stranger)
        trusted.update(limits: .twisted)
        #expect(try frames(Wire.list(7) + body, &trusted).isEmpty)  // waits for the rest of the string
    }
}
