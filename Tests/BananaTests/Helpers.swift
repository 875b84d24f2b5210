import Banana
import NIOCore

/// Encodes one jelly value and returns its bytes.
func jellyBytes(_ value: JellyValue, dialect: PBDialect = .pb) throws -> [UInt8] {
    var buffer = ByteBuffer()
    try Jelly.encode(value, dialect: dialect, into: &buffer)
    return Array(buffer.readableBytesView)
}

/// Decodes one jelly value that must fill `bytes` exactly.
func decodeJelly(_ bytes: [UInt8], dialect: PBDialect = .pb, limits: BananaLimits = .twisted) throws -> JellyValue {
    var buffer = ByteBuffer(bytes: bytes)
    let value = try Jelly.decode(from: &buffer, dialect: dialect, limits: limits)
    precondition(buffer.readableBytes == 0, "trailing bytes after the element")
    return value
}

/// Parses `"02 80 0b 87"` into bytes; also accepts `"quoted ASCII"` runs.
func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var rest = Substring(text)
    while let first = rest.first {
        if first == " " || first == "\n" {
            rest = rest.dropFirst()
        } else if first == "\"" {
            let body = rest.dropFirst()
            let end = body.firstIndex(of: "\"")!
            bytes += Array(body[..<end].utf8)
            rest = body[body.index(after: end)...]
        } else {
            let pair = rest.prefix(2)
            bytes.append(UInt8(pair, radix: 16)!)
            rest = rest.dropFirst(2)
        }
    }
    return bytes
}

/// Encodes a PB message in dialect pb (no objects).
func messageBytes(_ message: PBMessage, dialect: PBDialect = .pb) throws -> [UInt8] {
    var buffer = ByteBuffer()
    try PBEncoder.write(message, dialect: dialect, into: &buffer) { _ in throw JellyError.unencodableObject("none") }
    return Array(buffer.readableBytesView)
}

/// A decoder already past the handshake (server side, dialect pb unless stated).
func serverDecoderAfterHandshake(dialect: String = "pb", limits: BananaLimits = .twisted) throws -> PBFrameDecoder {
    var decoder = PBFrameDecoder(role: .server, limits: limits)
    var choice = ByteBuffer()
    PBEncoder.writeDialectChoice(Array(dialect.utf8), into: &choice)
    _ = try decoder.decodeFrame(from: &choice)
    return decoder
}

/// Decodes every complete frame of `bytes` with `decoder`.
func frames(_ bytes: [UInt8], _ decoder: inout PBFrameDecoder) throws -> [PBFrame] {
    var buffer = ByteBuffer(bytes: bytes)
    var result: [PBFrame] = []
    while let frame = try decoder.decodeFrame(from: &buffer) { result.append(frame) }
    return result
}

final class TestObject: JellyObject {}
