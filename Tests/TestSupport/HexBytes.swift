/// The bytes written as pairs of hex digits in `text` (e.g. "974e331b"), for
/// test vectors and captured wire bytes. A malformed literal is a bug in the test.
public func hexBytes(_ text: String) -> [UInt8] {
    precondition(text.utf8.count.isMultiple(of: 2), "odd number of hex digits in \(text)")
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count / 2)
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        guard let byte = UInt8(text[index..<next], radix: 16) else {
            preconditionFailure("not hex: \(text[index..<next])")
        }
        bytes.append(byte)
        index = next
    }
    return bytes
}
