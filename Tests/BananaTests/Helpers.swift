import Banana
import NIOCore
import TestSupport

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
