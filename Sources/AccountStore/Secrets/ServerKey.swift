import Crypto
import Foundation

/// The server key: 32 random bytes in a file beside the database (by default
/// the database's path plus `.key`), readable by its owner only. Cookies, broker
/// tokens and the sealed PB verifiers are derived from it, so a copy of the
/// database without this file lets no one log in.
struct ServerKey {
    static let byteCount = 32
    let key: SymmetricKey

    /// Reads the key at `path`, creating it when `create` is true and no file exists.
    ///
    /// Creation is race-free: the bytes are written to a private temporary file
    /// that is then hard-linked to `path`, which fails if another process got
    /// there first; then that process's key is read. A reader never sees a
    /// half-written key.
    static func load(path: String, create: Bool) throws -> ServerKey {
        if let existing = try readExisting(path: path) { return existing }
        guard create else { throw StoreError.serverKeyMissing(path) }
        let bytes = randomBytes(byteCount)
        let temporary = path + ".tmp-\(getpid())-\(hexString(randomBytes(4)))"
        let descriptor = SystemCalls.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError.serverKeyUnwritable(path, errno: errno) }
        defer { unlink(temporary) }
        let written = bytes.withUnsafeBytes { SystemCalls.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        SystemCalls.close(descriptor)
        guard written == byteCount, synced == 0 else { throw StoreError.serverKeyUnwritable(path, errno: errno) }
        if link(temporary, path) != 0 && errno != EEXIST {
            throw StoreError.serverKeyUnwritable(path, errno: errno)
        }
        guard let key = try readExisting(path: path) else { throw StoreError.serverKeyMissing(path) }
        return key
    }

    /// The key in `path`, nil when there is no such file.
    private static func readExisting(path: String) throws -> ServerKey? {
        let descriptor = SystemCalls.open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw StoreError.serverKeyUnreadable(path, errno: errno)
        }
        defer { SystemCalls.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw StoreError.serverKeyUnreadable(path, errno: errno) }
        guard status.st_mode & 0o077 == 0 else {
            throw StoreError.serverKeyExposed(path, mode: Int(status.st_mode & 0o777))
        }
        var buffer = [UInt8](repeating: 0, count: byteCount + 1)
        let count = buffer.withUnsafeMutableBytes { SystemCalls.read(descriptor, $0.baseAddress, $0.count) }
        guard count == byteCount else { throw StoreError.serverKeyMalformed(path) }
        return ServerKey(key: SymmetricKey(data: buffer.prefix(byteCount)))
    }
}
