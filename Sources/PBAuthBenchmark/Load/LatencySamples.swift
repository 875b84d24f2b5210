import Foundation

/// Latencies of one scenario, in seconds, and what they add up to.
struct LatencySamples: Sendable {
    private(set) var values: [Double] = []
    private(set) var errors = 0

    mutating func add(_ seconds: Double) { values.append(seconds) }
    mutating func addError() { errors += 1 }
    mutating func merge(_ other: LatencySamples) {
        values.append(contentsOf: other.values)
        errors += other.errors
    }

    /// The summary, for `duration` seconds of load.
    func summary(duration: Double) -> LatencySummary {
        let sorted = values.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)
            return sorted[max(0, index)]
        }
        return LatencySummary(
            count: sorted.count, errors: errors, perSecond: Double(sorted.count) / duration,
            p50: percentile(0.50) * 1000, p99: percentile(0.99) * 1000, max: (sorted.last ?? 0) * 1000
        )
    }
}

/// Throughput and latency (milliseconds) of one scenario.
struct LatencySummary: Codable, Sendable {
    var count: Int
    var errors: Int
    var perSecond: Double
    var p50: Double
    var p99: Double
    var max: Double
}

/// A monotonic clock reading in seconds.
func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// CPU seconds (user + system) this process has used.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Raises this process's open-file limit to its hard limit (many connections need many descriptors).
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// Writes one line to standard output at once (no buffering between processes).
func emitLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
