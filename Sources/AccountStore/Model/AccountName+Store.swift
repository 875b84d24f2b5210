import AccountNames

extension AccountName {
    /// Validates `name`; throws `StoreError.invalidAccountName` when it breaks the rules.
    public init(_ name: String) throws {
        guard let valid = AccountName(validating: name) else { throw StoreError.invalidAccountName(name) }
        self = valid
    }
}

/// Quotes text that came from outside (a name, a path element) for a one-line
/// message: control and non-ASCII characters are escaped so that they can
/// neither break the line nor drive the terminal.
func quotedForMessage(_ text: String) -> String {
    var out = "'"
    for scalar in text.unicodeScalars.prefix(100) {
        if scalar.isASCII, scalar.value >= 0x20, scalar.value != 0x7F, scalar != "'" , scalar != "\\" {
            out.unicodeScalars.append(scalar)
        } else {
            out += "\\u{\(String(scalar.value, radix: 16))}"
        }
    }
    if text.unicodeScalars.count > 100 { out += "..." }
    return out + "'"
}
