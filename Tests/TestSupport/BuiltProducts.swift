import Foundation

/// Locates the executables that `swift build --build-tests` put beside the test bundle.
public enum BuiltProducts {
    /// The folder holding the built products (for example `.build/debug`).
    public static var directory: String {
        if let explicit = ProcessInfo.processInfo.environment["PBAUTH_PRODUCTS"] { return explicit }
        // The test runner is `<products>/pbauthPackageTests.xctest` (Linux) or a
        // tool started from `<products>`; walk up from it until `pbauth` is found.
        var candidate = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 {
            candidate.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("pbauth").path) {
                return candidate.path
            }
        }
        return packageRoot + "/.build/debug"
    }

    /// The absolute path of the built executable `name`.
    public static func executable(_ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    /// The package's root folder (the one holding Package.swift).
    public static var packageRoot: String {
        // This file is <root>/Tests/TestSupport/BuiltProducts.swift.
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The Python interpreter of the virtualenv that holds stock Twisted.
    ///
    /// `scripts/test` creates it at `<root>/.venv-interop` and exports `PBAUTH_PYTHON`.
    public static var twistedPython: String {
        ProcessInfo.processInfo.environment["PBAUTH_PYTHON"] ?? packageRoot + "/.venv-interop/bin/python"
    }

    /// `twistedPython` when it exists; otherwise an error saying how to create it (a test
    /// that needs Twisted fails, it is never skipped).
    public static func requireTwistedPython() throws -> String {
        let python = twistedPython
        guard FileManager.default.isExecutableFile(atPath: python) else { throw TwistedMissing(path: python) }
        return python
    }
}

/// No Python with stock Twisted where the tests look for one.
public struct TwistedMissing: Error, CustomStringConvertible {
    /// Where it was looked for.
    public let path: String

    /// What to do about it.
    public var description: String {
        "no Python with stock Twisted at \(path): run scripts/test (it creates .venv-interop with twisted==26.10.0 and sets PBAUTH_PYTHON), or set PBAUTH_PYTHON"
    }
}
