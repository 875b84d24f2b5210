import Foundation
import Synchronization

/// Tells, from any thread and without a query or a system call, whether a database in WAL
/// mode may have changed since an earlier moment: by anyone, this process or another (an
/// admin's `pbauth account disable`).
///
/// It reads the wal-index header that SQLite keeps at the start of the `-shm` file, mapped
/// read-only here. Every commit rewrites that header (its change counter, frame count and
/// checksums), and SQLite's own readers compare it in just this way to learn whether their
/// cached pages still stand; its layout is part of the documented file format
/// (<https://www.sqlite.org/walformat.html>, "The WAL-Index Header"): two 48-byte copies,
/// the second written first, so that two equal copies are a header no commit is writing.
///
/// A `Stamp` taken before a read transaction began names a state at or before the one that
/// transaction reads. What was read may be trusted for as long as `stamp()` still answers
/// an equal stamp: no commit happened in between. Nil means "do not know" (not attached,
/// a commit under way, no WAL): read the database.
public final class DatabaseChangeWatch: Sendable {
    /// The wal-index header at one moment.
    public struct Stamp: Sendable, Equatable {
        fileprivate let a, b, c, d, e, f: UInt64

        /// The header's change counter (`iChange`, bytes 8 to 11 in native order): one more
        /// for each transaction committed.
        public var changeCounter: UInt32 { UInt32(truncatingIfNeeded: b) }

        /// Whether exactly one transaction committed between `self` and `later`: true for a
        /// stamp taken while holding the write lock and one taken after that transaction's
        /// commit, when no other writer committed in between.
        public func isFollowedByOneCommit(_ later: Stamp) -> Bool {
            later.changeCounter == changeCounter &+ 1
        }

        fileprivate init(_ base: UnsafeRawPointer, at offset: Int) {
            func word(_ index: Int) -> UInt64 { base.loadUnaligned(fromByteOffset: offset + index * 8, as: UInt64.self) }
            (a, b, c, d, e, f) = (word(0), word(1), word(2), word(3), word(4), word(5))
        }
    }

    /// The header's size, and the mapped length: both copies.
    private static let headerBytes = 48
    private static let mappedBytes = 2 * headerBytes

    /// The mapping's address while stamps are answered (0 before `attach` and after `stopAnswering`).
    private let address = Atomic<Int>(0)
    private let mapping = Mutex<Mapping?>(nil)

    private struct Mapping {
        var pointer: UnsafeMutableRawPointer?
        /// Kept open until `release`: closing any descriptor of a file drops every POSIX lock
        /// this process holds on it, SQLite's own locks on the wal-index included (then
        /// another process would think itself alone with the database).
        var descriptor: Int32
    }

    /// A watch that answers nil until `attach`.
    public init() {}

    /// Maps the wal-index of the database at `databasePath` (its `-shm` file). Call it while a
    /// connection of this process has the database open in WAL mode: SQLite then keeps the
    /// file at its size (it truncates a wal-index only when no connection has it open), so
    /// reading the mapping is safe until those connections close. Call `stopAnswering` before
    /// they close and `release` after. Answers whether the watch is attached.
    @discardableResult
    public func attach(databasePath: String) -> Bool {
        mapping.withLock { mapping in
            if let mapping { return mapping.pointer != nil }
            let descriptor = Foundation.open(databasePath + "-shm", O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return false }
            // From here on the descriptor stays open until `release` (see `Mapping.descriptor`).
            mapping = Mapping(pointer: nil, descriptor: descriptor)
            var status = stat()
            guard fstat(descriptor, &status) == 0, Int(status.st_size) >= Self.mappedBytes,
                  let pointer = mmap(nil, Self.mappedBytes, PROT_READ, MAP_SHARED, descriptor, 0),
                  pointer != MAP_FAILED else { return false }
            mapping?.pointer = pointer
            address.store(Int(bitPattern: pointer), ordering: .releasing)
            return true
        }
    }

    /// Stops answering stamps (`stamp()` answers nil from now on). Call it before the
    /// database's connections close.
    public func stopAnswering() {
        address.store(0, ordering: .releasing)
    }

    /// Stops answering, unmaps the header and closes the descriptor. Call it once this
    /// process's connections to the database are closed.
    public func release() {
        stopAnswering()
        mapping.withLock { mapping in
            guard let current = mapping else { return }
            if let pointer = current.pointer { munmap(pointer, Self.mappedBytes) }
            Foundation.close(current.descriptor)
            mapping = nil
        }
    }

    deinit { release() }

    /// The header now, or nil when it is not known (not attached, or a commit is writing it).
    public func stamp() -> Stamp? {
        let bits = address.load(ordering: .acquiring)
        guard bits != 0, let base = UnsafeRawPointer(bitPattern: bits) else { return nil }
        // The first copy, a barrier, the second: a writer updates the second copy, then the first.
        let first = Stamp(base, at: 0)
        atomicMemoryFence(ordering: .acquiring)
        guard Stamp(base, at: Self.headerBytes) == first else { return nil }
        // isInit (byte 12) is 0 until a connection initialised the header.
        guard base.load(fromByteOffset: 12, as: UInt8.self) != 0 else { return nil }
        return first
    }
}
