import NIOCore

/// The `ByteToMessageDecoder` of one PB connection: dialect handshake, then PB messages.
///
/// Role `.server`: the first element must be a bare STRING naming one of `offeredDialects`
/// (else `BananaError.badDialectNegotiation`: close). Role `.client`: the first element is
/// the server's offer; the decoder picks the first name it knows in the server's order and
/// switches to it (use `PBDialect.choose(from:)` to learn which, and send that choice).
/// Afterwards every top-level element must be a LIST, decoded into one `PBMessage`.
/// Limits are enforced as bytes arrive. Any thrown error means: close the connection.
public struct PBFrameDecoder: ByteToMessageDecoder {
    /// Frames handed to the next handler.
    public typealias InboundOut = PBFrame

    /// Which side of the handshake this decoder is on.
    public let role: PBRole
    /// The limits enforced on the peer.
    public private(set) var limits: BananaLimits
    /// The dialect names a server accepts as the client's choice.
    public let offeredDialects: [[UInt8]]
    /// The dialect in use, nil until the handshake is done.
    public private(set) var dialect: PBDialect?
    private var scanner: BananaScanner

    /// Makes a decoder for one connection.
    public init(role: PBRole, limits: BananaLimits = .twisted, offeredDialects: [[UInt8]] = PBDialect.twistedOffer) {
        self.role = role
        self.limits = limits
        self.offeredDialects = offeredDialects
        self.dialect = nil
        self.scanner = BananaScanner(limits: limits)
    }

    /// Enforces `limits` from now on (for example once the peer has logged in), also on the
    /// rest of a message that has partly arrived.
    public mutating func update(limits: BananaLimits) {
        self.limits = limits
        scanner.update(limits: limits)
    }

    /// Decodes the next complete frame in `buffer` and fires it down the pipeline (NIO calls
    /// again while this answers `.continue`, so several messages in one read all come out).
    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try decodeFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    /// Decodes what is complete at end of input. A partial element stays in the buffer, and
    /// NIO then reports `ByteToMessageDecoderError.leftoverDataWhenDone`.
    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// Decodes one frame from the front of `buffer`, consuming its bytes; nil when the next
    /// frame is not complete yet (nothing consumed). For use without a channel.
    /// - Throws: `BananaError` when the peer broke the protocol.
    public mutating func decodeFrame(from buffer: inout ByteBuffer) throws -> PBFrame? {
        let vocabularyAllowed = dialect == .pb
        let rule: BananaScanner.TopLevelRule = (dialect == nil && role == .server) ? .string : .list
        let found: Int? = try buffer.withUnsafeReadableBytes { (bytes) throws -> Int? in
            try scanner.scan(bytes, vocabularyAllowed: vocabularyAllowed, topLevel: rule)
        }
        guard let length = found else { return nil }
        scanner.reset()
        let frame: PBFrame = try buffer.withUnsafeReadableBytes { (bytes) throws -> PBFrame in
            var reader = BananaReader(UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
            return try parseFrame(&reader)
        }
        buffer.moveReaderIndex(forwardBy: length)
        return frame
    }

    private mutating func parseFrame(_ reader: inout BananaReader) throws -> PBFrame {
        if dialect != nil {
            return .message(try PBMessageParser.parse(&reader, limits: limits))
        }
        switch role {
        case .server:
            guard case .string(let range) = try reader.next() else { throw BananaError.badDialectNegotiation("the first element is not a dialect name") }
            let name = Array(reader.slice(range))
            guard offeredDialects.contains(name), let chosen = PBDialect(name: name) else {
                throw BananaError.badDialectNegotiation("the client chose a dialect that was not offered")
            }
            dialect = chosen
            return .dialectChoice(name)
        case .client:
            guard case .list(let count) = try reader.next() else { throw BananaError.badDialectNegotiation("the first element is not a dialect list") }
            var offer: [[UInt8]] = []
            for _ in 0..<count {
                guard case .string(let range) = try reader.next() else { throw BananaError.badDialectNegotiation("the dialect list holds a non-string") }
                offer.append(Array(reader.slice(range)))
            }
            guard let chosen = PBDialect.choose(from: offer) else { throw BananaError.badDialectNegotiation("no dialect in common with the server") }
            dialect = chosen
            return .dialectOffer(offer)
        }
    }
}
