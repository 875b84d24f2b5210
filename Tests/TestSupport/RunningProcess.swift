import Foundation

/// A long-running child process (a daemon or a Python fixture) whose output
/// lines a test waits for, stopped with a signal at the end of the test.
public final class RunningProcess: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var outputLines: [String] = []
    private var errorLines: [String] = []
    private let stdinPipe = Pipe()

    /// Starts `executable` with `arguments`.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = stdinPipe
        try process.run()
        collect(outPipe.fileHandleForReading, isError: false)
        collect(errPipe.fileHandleForReading, isError: true)
    }

    private func collect(_ handle: FileHandle, isError: Bool) {
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lock.withLock {
                        if isError { errorLines.append(line) } else { outputLines.append(line) }
                    }
                }
            }
            if !pending.isEmpty {
                let line = String(decoding: pending, as: UTF8.self)
                lock.withLock { if isError { errorLines.append(line) } else { outputLines.append(line) } }
            }
        }
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    /// Lines written to standard output so far.
    public var standardOutput: [String] { lock.withLock { outputLines } }

    /// Lines written to standard error so far.
    public var standardError: [String] { lock.withLock { errorLines } }

    /// Writes `text` to the process's standard input.
    public func send(_ text: String) {
        stdinPipe.fileHandleForWriting.write(Data(text.utf8))
    }

    /// Waits until a line of standard output or standard error satisfies `predicate`,
    /// and returns it; `nil` after `timeout` seconds or when the process exited first.
    public func waitForLine(timeout: TimeInterval = 30, where predicate: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let lines = lock.withLock { outputLines + errorLines }
            if let line = lines.first(where: predicate) { return line }
            if !process.isRunning {
                usleep(50_000)
                return lock.withLock { outputLines + errorLines }.first(where: predicate)
            }
            usleep(10_000)
        }
        return nil
    }

    /// Sends `signal` (SIGTERM by default) and waits at most `timeout` seconds for
    /// the exit; kills it if it is still running then. Returns the exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 10) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
