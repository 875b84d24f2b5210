@testable import AccountStore
import Foundation
import TestSupport

/// Small scrypt parameters keep the suite fast; one test covers the defaults.
public let fastConfiguration = StoreConfiguration(scrypt: ScryptParameters(logN: 4, r: 8, p: 1), busyTimeoutMilliseconds: 5_000)

/// A fresh folder with a migrated database; the closure gets both.
public func withFreshStore<Result>(
    configuration: StoreConfiguration = fastConfiguration,
    _ body: (AccountStore, TemporaryDirectory) throws -> Result
) throws -> Result {
    let folder = try TemporaryDirectory()
    defer { folder.remove() }
    let store = try AccountStore.createOrMigrate(databasePath: folder.file("pbauth.sqlite"), configuration: configuration)
    defer { store.close() }
    return try body(store, folder)
}

/// Writes migration files into a new folder `name` under `folder`.
public func makeMigrationFolder(_ folder: TemporaryDirectory, _ name: String = "migrations", files: [String: String]) throws -> String {
    let path = folder.file(name)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    for (file, contents) in files {
        try Data(contents.utf8).write(to: URL(fileURLWithPath: (path as NSString).appendingPathComponent(file)))
    }
    return path
}

/// Runs one query on a separate connection and answers its first integer column.
public func integer(_ sql: String, in path: String) throws -> Int64? {
    let database = try Database(path: path, create: false, busyTimeoutMilliseconds: 5_000)
    defer { database.close() }
    return try database.queryFirst(sql) { $0.int64(0) }
}

/// Every byte of a file (and of its WAL, if one is left).
public func fileBytes(_ path: String) -> [UInt8] {
    var bytes = FileManager.default.contents(atPath: path).map { Array($0) } ?? []
    bytes += FileManager.default.contents(atPath: path + "-wal").map { Array($0) } ?? []
    return bytes
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs anywhere in these bytes.
    public func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if self[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}

private let hexDigits = Array("0123456789abcdef")
public func hex(_ bytes: [UInt8]) -> String {
    String(bytes.flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 15)]] })
}
