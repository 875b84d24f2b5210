/// The bytes written as pairs of hex digits in `text` (e.g. "974e331b", or "02 80 0b 87"),
/// for test vectors and captured wire bytes; spaces and newlines are ignored and a
/// `"quoted"` run stands for its ASCII bytes. A malformed literal is a bug in the test.
public func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var rest = Substring(text)
    while let first = rest.first {
        if first == " " || first == "\n" {
            rest = rest.dropFirst()
        } else if first == "\"" {
            let body = rest.dropFirst()
            guard let end = body.firstIndex(of: "\"") else { preconditionFailure("unterminated quote in \(text)") }
            bytes += Array(body[..<end].utf8)
            rest = body[body.index(after: end)...]
        } else {
            let pair = rest.prefix(2)
            guard pair.count == 2, let byte = UInt8(pair, radix: 16) else { preconditionFailure("not hex: \(pair) in \(text)") }
            bytes.append(byte)
            rest = rest.dropFirst(2)
        }
    }
    return bytes
}
