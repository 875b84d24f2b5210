import Crypto
import Foundation

/// One migration file: its name (`NNNN_what_it_does.sql`), its SQL and its checksum.
public struct Migration: Sendable, Equatable {
    /// The file name, which is also the migration's identity.
    public let name: String
    /// The SQL text.
    public let contents: String

    /// Hex SHA-256 of the contents with CRLF and CR normalized to LF, so that a
    /// checkout with other line endings is not mistaken for a changed file.
    public var checksum: String {
        let normalized = contents.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        return SHA256.hash(data: Array(normalized.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `name` matches the pattern `NNNN_what_it_does.sql`: four digits,
    /// an underscore, then lowercase letters, digits and underscores.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count > 9, name.hasSuffix(".sql") else { return false }
        let stem = bytes[..<(bytes.count - 4)]
        guard stem.prefix(4).allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              stem.count > 5, stem[stem.startIndex + 4] == UInt8(ascii: "_") else { return false }
        return stem.dropFirst(5).allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }
}

/// Where the migrations come from.
public enum MigrationSource: Sendable {
    /// The files of the package's `Migrations/` folder, compiled into the binary.
    case embedded
    /// The `.sql` files of an admin's own folder.
    case folder(String)

    /// Every migration, sorted by name. Throws when a file's name does not
    /// match the pattern (it is never silently skipped) or two files share a number.
    public func load() throws -> [Migration] {
        let files: [(name: String, contents: String)]
        switch self {
        case .embedded:
            files = EmbeddedMigrations.files
        case .folder(let path):
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw MigrationError.unreadableFolder(path)
            }
            files = try names.filter { !$0.hasPrefix(".") }.sorted().map { name in
                let filePath = (path as NSString).appendingPathComponent(name)
                guard let data = FileManager.default.contents(atPath: filePath) else {
                    throw MigrationError.unreadableFile(filePath)
                }
                return (name, String(decoding: data, as: UTF8.self))
            }
        }
        var seenNumbers: [Substring: String] = [:]
        var migrations: [Migration] = []
        for file in files.sorted(by: { $0.name < $1.name }) {
            guard Migration.isValidName(file.name) else { throw MigrationError.misnamedFile(file.name) }
            let number = file.name.prefix(4)
            if let other = seenNumbers[number] { throw MigrationError.duplicateNumber(other, file.name) }
            seenNumbers[number] = file.name
            migrations.append(Migration(name: file.name, contents: file.contents))
        }
        return migrations
    }
}
