import ArgumentParser
import PBAuthDaemon
import Foundation
import Logging

/// Options every daemon shares: where its configuration comes from.
struct DaemonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The configuration file (default: the daemon's file in ./config/ when it exists).", valueName: "FILE"))
    var config: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Sets any configuration key, e.g. --set session_lifetime=3600 (repeatable).", valueName: "KEY=VALUE"))
    var settings: [String] = []

    /// Reads the configuration file (the given one, or `defaultFile` when it exists) and merges the layers.
    func settings(known: [String], defaultFile: String, flags: [String: String]) throws -> Settings {
        let path = config ?? (FileManager.default.fileExists(atPath: defaultFile) ? defaultFile : nil)
        let file = try path.map { try ConfigurationFile(path: $0) }
        var overrides: [String: String] = [:]
        for assignment in self.settings {
            guard let equals = assignment.firstIndex(of: "=") else {
                throw ValidationError("--set takes KEY=VALUE, e.g. --set hop_limit=4")
            }
            overrides[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
        }
        overrides.merge(flags) { $1 }
        return try Settings(known: Set(known), file: file, fileOrigin: path ?? "configuration", overrides: overrides)
    }
}

/// Sends swift-log output to standard error at `level` (a name such as `info`).
func bootstrapLogging(level: String) throws -> Logger {
    guard let logLevel = Logger.Level(rawValue: level) else {
        throw ValidationError("log_level must be one of: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    // Each log line's timestamp is local time: without TZ, glibc reads /etc/localtime again
    // (a stat) for every line; with TZ naming that same file it reads it once. Set before any
    // thread starts.
    if getenv("TZ") == nil { setenv("TZ", ":/etc/localtime", 0) }
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = logLevel
        return handler
    }
    return Logger(label: "pbauth")
}

/// Runs a daemon; an error that stops it becomes one line `pbauth: <message>` on
/// standard error and exit code 1 (usage errors keep ArgumentParser's handling).
func reportingDaemonFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("pbauth: \(AdminAction.message(for: error, databasePath: "the database"))\n".utf8))
        throw ExitCode(1)
    }
}
