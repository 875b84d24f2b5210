@testable import AccountStore
import Foundation
import Testing
import StoreTestSupport
import TestSupport

/// `pbauth account add` without --password-stdin on a terminal: a prompt without echo.
@Suite struct PasswordPromptTests {
    @Test func aTerminalIsPromptedTwiceWithoutEcho() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let db = folder.file("pbauth.sqlite")
        let environment = ["PBAUTH_SCRYPT_LN": "4"]
        #expect(try ChildProcess.run(BuiltProducts.executable("pbauth"), ["migrate", "--database", db], environment: environment).status == 0)

        let terminal = try PseudoTerminal()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BuiltProducts.executable("pbauth"))
        process.arguments = ["account", "add", "tty-user", "--database", db]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle(fileDescriptor: terminal.follower, closeOnDealloc: false)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        terminal.closeFollower()
        defer { if process.isRunning { process.terminate() } }

        var shown = try readUntil(errors.fileHandleForReading.fileDescriptor, contains: "Password for tty-user: ")
        terminal.type("typed-in-secret\n")
        shown += try readUntil(errors.fileHandleForReading.fileDescriptor, contains: "Repeat the password: ")
        terminal.type("typed-in-secret\n")
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        #expect(process.terminationStatus == 0, "\(shown)")

        let echoed = terminal.drain()
        #expect(!echoed.contains("typed-in-secret"), "the terminal echoed: \(echoed)")
        #expect(!shown.contains("typed-in-secret"))

        let store = try AccountStore.open(databasePath: db, configuration: fastConfiguration)
        defer { store.close() }
        let account = try #require(try store.account(named: "tty-user"))
        #expect(try store.verifyPassword(accountID: account.id, password: Array("typed-in-secret".utf8)))
    }

    /// Reads `descriptor` until its text contains `marker` (at most 30 s).
    private func readUntil(_ descriptor: Int32, contains marker: String) throws -> String {
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        var buffer = [UInt8](repeating: 0, count: 256)
        while !text.contains(marker) {
            guard Date() < deadline else { throw PromptTestFailure("no '\(marker)' within 30 s; saw: \(text)") }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { throw PromptTestFailure("standard error closed; saw: \(text)") }
            text += String(decoding: buffer[0..<count], as: UTF8.self)
        }
        return text
    }
}

struct PromptTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A pseudo-terminal pair: the child's standard input is the follower side; the
/// test types on the leader side and reads back whatever the terminal echoed.
final class PseudoTerminal {
    let leader: Int32
    private(set) var follower: Int32

    init() throws {
        // posix_openpt and friends are hidden by Glibc's module without
        // _XOPEN_SOURCE; these are the Linux ioctls they wrap.
        let unlock: UInt = 0x4004_5431  // TIOCSPTLCK
        let number: UInt = 0x8004_5430  // TIOCGPTN
        leader = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var locked: Int32 = 0
        var index: UInt32 = 0
        guard leader >= 0, ioctl(leader, unlock, &locked) == 0, ioctl(leader, number, &index) == 0 else {
            throw PromptTestFailure("cannot open a pseudo-terminal")
        }
        follower = open("/dev/pts/\(index)", O_RDWR | O_NOCTTY)
        guard follower >= 0 else { throw PromptTestFailure("cannot open the pseudo-terminal's follower") }
    }

    func closeFollower() {
        if follower >= 0 { close(follower) }
        follower = -1
    }

    func type(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { write(leader, $0.baseAddress, $0.count) }
    }

    /// Everything the terminal has to show now (its echo), without waiting.
    func drain() -> String {
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            var poller = pollfd(fd: leader, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0, poller.revents & Int16(POLLIN) != 0 else { break }
            let count = read(leader, &buffer, buffer.count)
            guard count > 0 else { break }
            text += String(decoding: buffer[0..<count], as: UTF8.self)
        }
        return text
    }

    deinit {
        closeFollower()
        close(leader)
    }
}
