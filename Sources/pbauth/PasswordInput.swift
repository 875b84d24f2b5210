import AccountStore
import Foundation

/// Where a password comes from: one line of standard input, or a prompt on the
/// terminal with echo off. Never from an argument, where `ps` would show it.
enum PasswordInput {
    /// Reads a password: from standard input when `fromStandardInput`, else by
    /// prompting (twice) on a terminal; refuses when neither is possible.
    static func read(fromStandardInput: Bool, account: String) throws -> [UInt8] {
        let password: [UInt8]
        if fromStandardInput {
            password = try readLine(from: STDIN_FILENO)
        } else if isatty(STDIN_FILENO) == 1 {
            password = try prompt("Password for \(account): ")
            let repeated = try prompt("Repeat the password: ")
            guard password == repeated else { throw AdminFailure("the two passwords differ; nothing was changed") }
        } else {
            throw AdminFailure("no password given: pass --password-stdin and write the password on standard input, or run in a terminal to be prompted")
        }
        guard !password.isEmpty else { throw StoreError.emptyPassword }
        return password
    }

    /// One line (without its line ending) of at most `AccountStore.maximumPasswordLength` bytes.
    private static func readLine(from descriptor: Int32) throws -> [UInt8] {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            #if canImport(Glibc)
            let count = Glibc.read(descriptor, &byte, 1)
            #else
            let count = Darwin.read(descriptor, &byte, 1)
            #endif
            if count < 0 && errno == EINTR { continue }
            if count <= 0 || byte == UInt8(ascii: "\n") { break }
            line.append(byte)
            if line.count > AccountStore.maximumPasswordLength + 1 {
                throw StoreError.passwordTooLong(maximum: AccountStore.maximumPasswordLength)
            }
        }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard line.count <= AccountStore.maximumPasswordLength else {
            throw StoreError.passwordTooLong(maximum: AccountStore.maximumPasswordLength)
        }
        return line
    }

    /// Prompts on standard error and reads a line from the terminal with echo off.
    /// Echo goes off before the prompt appears, so nothing typed after it is shown.
    private static func prompt(_ text: String) throws -> [UInt8] {
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw AdminFailure("cannot read the terminal's settings") }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent) == 0 else { throw AdminFailure("cannot turn off the terminal's echo") }
        FileHandle.standardError.write(Data(text.utf8))
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return try readLine(from: STDIN_FILENO)
    }
}
