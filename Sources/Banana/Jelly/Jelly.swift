import NIOCore

/// Lower-level entry points: one jelly value to or from Banana bytes (tests, tools, benchmarks).
public enum Jelly {
    /// Writes `value` as one jelly call (its own reference numbering).
    /// - Throws: like `PBEncoder.write`.
    public static func encode(_ value: JellyValue, dialect: PBDialect = .pb, into buffer: inout ByteBuffer,
                              objects: (any JellyObject) throws -> JellyValue = { _ in
                                  throw JellyError.unencodableObject("no object table")
                              }) throws {
        var output = BananaOutput(capacity: 128)
        // The encoder keeps the hook only for the duration of this call.
        try withoutActuallyEscaping(objects) { objects in
            var encoder = JellyEncoder(dialect: dialect, objects: objects)
            try encoder.encode(value, into: &output)
        }
        output.withBytes { buffer.writeBytes($0) }
    }

    /// Decodes one complete jelly element from the front of `buffer` and consumes it.
    /// - Throws: `BananaError` when the bytes are not one complete, well-formed element within
    ///   `limits`; `JellyError` when it is not an acceptable jelly value.
    public static func decode(from buffer: inout ByteBuffer, dialect: PBDialect = .pb, limits: BananaLimits = .twisted) throws -> JellyValue {
        var scanner = BananaScanner(limits: limits)
        let vocabulary = dialect == .pb
        let found: Int? = try buffer.withUnsafeReadableBytes { (bytes) throws -> Int? in
            try scanner.scan(bytes, vocabularyAllowed: vocabulary, topLevel: .any)
        }
        guard let length = found else { throw BananaError.badMessageShape("incomplete element") }
        let value = try buffer.withUnsafeReadableBytes { bytes in
            var reader = BananaReader(UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
            var decoder = JellyDecoder(limits: limits, baseDepth: 0, messageBytes: length)
            return try decoder.decode(&reader)
        }
        buffer.moveReaderIndex(forwardBy: length)
        return value
    }
}
