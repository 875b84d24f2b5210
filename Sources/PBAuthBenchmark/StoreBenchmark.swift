import AccountStore
import Foundation

/// `pbauth-bench store`: the account store's hot read and its slow hash.
///
/// Prints, on one thread, how many "live sessions of one account" lookups per
/// second the store answers (the read behind every cookie login; goal: at
/// least 100,000/s in release), and the time of one scrypt hash at the default
/// parameters (N=2^17, r=8, p=1).
enum StoreBenchmark {
    static func run(sessionsPerAccount: Int, seconds: Double) throws {

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pbauth-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // Cheap hashes while filling the database; the default ones are timed below.
        let store = try AccountStore.createOrMigrate(
            databasePath: folder + "/bench.sqlite",
            configuration: StoreConfiguration(scrypt: ScryptParameters(logN: 4, r: 8, p: 1)))
        defer { store.close() }
        let now = Int64(Date().timeIntervalSince1970)
        let accountCount = 1_000
        var accountIDs: [Int64] = []
        for number in 0..<accountCount {
            try store.addUser(name: "user\(number)", password: Array("password\(number)".utf8))
            guard let account = try store.account(named: "user\(number)") else { throw BenchmarkFailure("account vanished") }
            accountIDs.append(account.id)
            for _ in 0..<sessionsPerAccount {
                _ = try store.startSession(accountID: account.id, lifetime: 86_400, brokerPath: ["edge1"], source: "127.0.0.1", now: now)
            }
        }

        // Warm the statement cache and SQLite's page cache.
        for id in accountIDs { _ = try store.liveSessions(accountID: id, now: now, idleLimit: 3_600) }

        var lookups = 0
        var found = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        var clock = start
        while clock < deadline {
            for _ in 0..<1_000 {
                let id = accountIDs[lookups % accountCount]
                found &+= try store.liveSessions(accountID: id, now: now, idleLimit: 3_600).count
                lookups += 1
            }
            clock = DispatchTime.now().uptimeNanoseconds
        }
        let elapsed = Double(clock - start) / 1e9
        guard found == lookups * sessionsPerAccount else { throw BenchmarkFailure("lookups found \(found) sessions, expected \(lookups * sessionsPerAccount)") }
        print(String(format: "live-session lookups: %.0f/s on one thread (%d lookups in %.2f s, %d accounts, %d sessions each)",
                     Double(lookups) / elapsed, lookups, elapsed, accountCount, sessionsPerAccount))

        // One scrypt hash at the default parameters, through the store's own path.
        let defaultStore = try AccountStore.open(databasePath: folder + "/bench.sqlite", configuration: StoreConfiguration())
        defer { defaultStore.close() }
        var times: [Double] = []
        for attempt in 0..<3 {
            let hashStart = DispatchTime.now().uptimeNanoseconds
            try defaultStore.addUser(name: "scrypt\(attempt)", password: Array("correct horse battery staple".utf8))
            times.append(Double(DispatchTime.now().uptimeNanoseconds - hashStart) / 1e6)
        }
        print(String(format: "scrypt hash at default parameters (ln=17, r=8, p=1): %.0f ms (best of 3 account adds; runs: %@)",
                     times.min() ?? 0, times.map { String(format: "%.0f", $0) }.joined(separator: ", ")))
    }
}

/// A benchmark that could not run.
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
