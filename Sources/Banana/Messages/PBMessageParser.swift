/// Reads one PB message (a complete top-level list) into a `PBMessage`.
///
/// Framing fields (command, request id, object id, method name, answerRequired) are plain
/// Banana atoms; a wrong one is a `BananaError` (close). Jelly payloads are decoded
/// separately; a bad one becomes `.undecodableCall` / `.undecodableAnswer`.
enum PBMessageParser {
    static func parse(_ reader: inout BananaReader, limits: BananaLimits = .twisted) throws(BananaError) -> PBMessage {
        guard case .list(let count) = try reader.next() else { throw .nonListMessage }
        guard count >= 1 else { throw .badMessageShape("empty message") }
        let commandElement = try reader.next()
        let command: UInt8
        switch commandElement {
        case .vocabulary(let index): command = index
        case .string(let range):
            let bytes = reader.slice(range)
            command = BananaVocabulary.index(of: bytes)
            if command == 0 {
                if BananaVocabulary.matches(bytes, "didNotUnderstand") {
                    try expectFields(count, 2, "didNotUnderstand")
                    guard let word = reader.byteString(try reader.next()) else { throw .badMessageShape("didNotUnderstand without a command") }
                    return .didNotUnderstand(command: word)
                }
                throw .unknownCommand(JellyHead.pythonRepr(bytes))
            }
        default:
            throw .badMessageShape("the command is not a byte string")
        }
        switch command {
        case BananaVocabulary.version:
            try expectFields(count, 2, "version")
            return .version(try integer(&reader, "version number"))
        case BananaVocabulary.message, BananaVocabulary.cacheMessage:
            return try parseCall(count: count, isCacheMessage: command == BananaVocabulary.cacheMessage, limits: limits, &reader)
        case BananaVocabulary.answer, BananaVocabulary.error:
            let isAnswer = command == BananaVocabulary.answer
            try expectFields(count, 3, isAnswer ? "answer" : "error")
            let requestID = try integer(&reader, "request id")
            let payloadStart = reader.position
            var decoder = JellyDecoder(limits: limits, baseDepth: 1, messageBytes: reader.bytes.count)
            do {
                let payload = try decoder.decode(&reader)
                return isAnswer ? .answer(requestID: requestID, result: payload) : .error(requestID: requestID, failure: payload)
            } catch let error as JellyError {
                if error.isLimitViolation { throw .jellyLimit(error) }
                reader.position = payloadStart
                try reader.skipElement()
                return .undecodableAnswer(requestID: requestID, error: error)
            } catch let error as BananaError {
                throw error
            } catch {
                throw .badMessageShape("undecodable payload")
            }
        case BananaVocabulary.decref, BananaVocabulary.decache, BananaVocabulary.uncache:
            try expectFields(count, 2, "decref")
            let luid = try integer(&reader, "luid")
            switch command {
            case BananaVocabulary.decref: return .decref(luid: luid)
            case BananaVocabulary.decache: return .decache(luid: luid)
            default: return .uncache(luid: luid)
            }
        default:
            throw .unknownCommand(JellyHead.pythonRepr(BananaVocabulary.words[Int(command)]))
        }
    }

    private static func parseCall(count: Int, isCacheMessage: Bool, limits: BananaLimits,
                                  _ reader: inout BananaReader) throws(BananaError) -> PBMessage {
        try expectFields(count, 7, isCacheMessage ? "cachemessage" : "message")
        let requestID = try integer(&reader, "request id")
        let object: PBObjectID
        switch try reader.next() {
        case .int(let luid): object = .luid(luid)
        case .string(let range): object = .name(reader.array(range))
        case .vocabulary(let index): object = .name(BananaVocabulary.words[Int(index)])
        default: throw .badMessageShape("the object id is neither an integer nor a name")
        }
        let method: String
        switch try reader.next() {
        case .string(let range): method = reader.lossyText(range)
        case .vocabulary(let index): method = String(decoding: BananaVocabulary.words[Int(index)], as: UTF8.self)
        default: throw .badMessageShape("the method name is not a byte string")
        }
        let answerRequired = try integer(&reader, "answerRequired flag") != 0
        // Arguments and keywords are two jelly calls; together they may unfold to at most
        // the message's size once more.
        var decoder = JellyDecoder(limits: limits, baseDepth: 1, messageBytes: reader.bytes.count)
        let argumentsStart = reader.position
        let arguments: [JellyValue]
        do {
            let value = try decoder.decode(&reader)
            guard let items = value.arrayValue else { throw JellyError.malformed("the arguments are not a tuple") }
            arguments = items
        } catch {
            let jellyError = try jellyErrorOrRethrow(error)
            reader.position = argumentsStart
            try reader.skipElement()
            try reader.skipElement()
            return .undecodableCall(requestID: requestID, answerRequired: answerRequired, error: jellyError)
        }
        var keywordDecoder = JellyDecoder(limits: limits, baseDepth: 1, messageBytes: reader.bytes.count)
        let keywords: JellyDictionary
        do {
            let value = try keywordDecoder.decode(&reader)
            guard let dictionary = value.dictionaryValue else { throw JellyError.malformed("the keywords are not a dictionary") }
            keywords = dictionary
        } catch {
            return .undecodableCall(requestID: requestID, answerRequired: answerRequired, error: try jellyErrorOrRethrow(error))
        }
        return .call(PBCall(requestID: requestID, object: object, method: method, answerRequired: answerRequired,
                            arguments: arguments, keywords: keywords, isCacheMessage: isCacheMessage))
    }

    /// A jelly error that is answered (the connection stays), or the error that closes it.
    private static func jellyErrorOrRethrow(_ error: any Error) throws(BananaError) -> JellyError {
        if let jellyError = error as? JellyError {
            if jellyError.isLimitViolation { throw .jellyLimit(jellyError) }
            return jellyError
        }
        if let bananaError = error as? BananaError { throw bananaError }
        throw .badMessageShape("undecodable payload")
    }

    private static func expectFields(_ count: Int, _ expected: Int, _ command: String) throws(BananaError) {
        if count != expected { throw .badMessageShape("\(command) with \(count - 1) fields instead of \(expected - 1)") }
    }

    private static func integer(_ reader: inout BananaReader, _ what: String) throws(BananaError) -> Int {
        guard case .int(let value) = try reader.next() else { throw .badMessageShape("\(what) is not an integer") }
        return value
    }
}
