import NIOCore

/// Writes the dialect handshake and PB messages into a `ByteBuffer` (no I/O).
public enum PBEncoder {
    /// Writes a server's dialect offer: a LIST of STRINGs (never VOCAB).
    public static func writeDialectOffer(_ dialects: [[UInt8]] = PBDialect.twistedOffer, into buffer: inout ByteBuffer) {
        var output = BananaOutput(capacity: 32)
        output.writeBananaHeader(dialects.count, type: BananaTypeByte.list)
        for name in dialects {
            output.writeBananaHeader(name.count, type: BananaTypeByte.string)
            output.append(name)
        }
        output.withBytes { buffer.writeBytes($0) }
    }

    /// Writes a client's dialect choice: a bare STRING (never VOCAB).
    public static func writeDialectChoice(_ dialect: [UInt8], into buffer: inout ByteBuffer) {
        var output = BananaOutput(capacity: 16)
        output.writeBananaHeader(dialect.count, type: BananaTypeByte.string)
        output.append(dialect)
        output.withBytes { buffer.writeBytes($0) }
    }

    /// Writes one PB message as Twisted would.
    ///
    /// - Parameter objects: turns a `.object(x)` into `.remote(luid)` or `.local(luid)` from
    ///   the broker's tables; it may throw to refuse.
    /// - Throws: `BananaError` for values Twisted could not receive (too long, too large),
    ///   `JellyError.unencodableObject`, or what `objects` throws. On error, nothing is
    ///   written to `buffer` (the message is built aside and appended whole).
    public static func write(_ message: PBMessage, dialect: PBDialect, into buffer: inout ByteBuffer,
                             objects: (any JellyObject) throws -> JellyValue) throws {
        var output = BananaOutput(capacity: 256)
        // The encoder keeps the hook only for the duration of this call.
        try withoutActuallyEscaping(objects) { objects in
            try write(message, dialect: dialect, into: &output, objects: objects)
        }
        output.withBytes { buffer.writeBytes($0) }
    }

    static func write(_ message: PBMessage, dialect: PBDialect, into buffer: inout BananaOutput,
                      objects: @escaping (any JellyObject) throws -> JellyValue) throws {
        let vocabulary = dialect == .pb
        switch message {
        case .version(let version):
            buffer.writeBananaTaggedInteger(BananaVocabulary.version, version, vocabulary: vocabulary)
        case .call(let call):
            buffer.writeBananaHeader(7, type: BananaTypeByte.list)
            buffer.writeBananaWord(call.isCacheMessage ? BananaVocabulary.cacheMessage : BananaVocabulary.message, vocabulary: vocabulary)
            buffer.writeBananaInteger(call.requestID)
            switch call.object {
            case .luid(let luid): buffer.writeBananaInteger(luid)
            case .name(let name): try buffer.writeBananaBytes(name, vocabulary: vocabulary)
            }
            var method = call.method
            try method.withUTF8 { (utf8) throws in
                try buffer.writeBananaBytes(UnsafeRawBufferPointer(utf8), vocabulary: vocabulary)
            }
            buffer.writeBananaInteger(call.answerRequired ? 1 : 0)
            var encoder = JellyEncoder(dialect: dialect, objects: objects)
            try encoder.encode(.tuple(call.arguments), into: &buffer)
            try encoder.encodeKeywords(call.keywords, into: &buffer)
        case .answer(let requestID, let value), .error(let requestID, let value):
            let word = if case .answer = message { BananaVocabulary.answer } else { BananaVocabulary.error }
            buffer.writeBananaHeader(3, type: BananaTypeByte.list)
            buffer.writeBananaWord(word, vocabulary: vocabulary)
            buffer.writeBananaInteger(requestID)
            var encoder = JellyEncoder(dialect: dialect, objects: objects)
            try encoder.encode(value, into: &buffer)
        case .decref(let luid):
            buffer.writeBananaTaggedInteger(BananaVocabulary.decref, luid, vocabulary: vocabulary)
        case .decache(let luid):
            buffer.writeBananaTaggedInteger(BananaVocabulary.decache, luid, vocabulary: vocabulary)
        case .uncache(let luid):
            buffer.writeBananaTaggedInteger(BananaVocabulary.uncache, luid, vocabulary: vocabulary)
        case .didNotUnderstand(let command):
            buffer.writeBananaHeader(2, type: BananaTypeByte.list)
            buffer.writeBananaPlainWord("didNotUnderstand")
            try buffer.writeBananaBytes(command, vocabulary: vocabulary)
        case .undecodableCall:
            throw BananaError.notSendable("an undecodable call")
        case .undecodableAnswer:
            throw BananaError.notSendable("an undecodable answer")
        }
    }
}
