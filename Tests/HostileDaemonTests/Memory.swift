import Foundation
import Testing

/// Resident memory of a daemon, read from /proc/PID/status.
enum Memory {
    /// A `Vm…` field of /proc/PID/status in KiB (e.g. "VmRSS", "VmHWM"), nil when unreadable.
    static func field(_ name: String, of pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.dropFirst(name.count + 1).filter(\.isNumber)
            return Int(digits)
        }
        return nil
    }

    static func residentKiB(_ pid: Int32) -> Int? { field("VmRSS", of: pid) }

    /// Resets the kernel's high-water mark of resident memory to the current value
    /// (`echo 5 > /proc/PID/clear_refs`); answers whether that worked.
    static func resetPeak(_ pid: Int32) -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/\(pid)/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }
}

/// CPU time a process has used, from /proc/PID/stat.
enum ProcessCPU {
    /// utime + stime in clock ticks, nil when unreadable.
    static func ticks(_ pid: Int32) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based, whole line).
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// Waits until the process used (almost) no CPU for `quiet` seconds, at most `seconds`
    /// in all; answers whether it went quiet. Used to let a daemon finish working off an
    /// attack before its memory peak is read.
    static func waitUntilQuiet(_ pid: Int32, quiet: Double = 1, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ticks(pid) ?? 0
        var quietSince = Date()
        while Date() < deadline {
            usleep(100_000)
            guard let now = ticks(pid) else { return true }
            // Two ticks (20 ms) per 100 ms sample is idle enough: timers and the flush loop.
            if now - last > 2 { quietSince = Date() }
            last = now
            if Date().timeIntervalSince(quietSince) >= quiet { return true }
        }
        return false
    }
}

/// The daemon's resident memory over one attack: the value before, the peak during
/// (the kernel's high-water mark, reset at the start, and samples every 10 ms), and after.
final class MemoryWatch: @unchecked Sendable {
    let pid: Int32
    let baselineKiB: Int
    private let peakWasReset: Bool
    private let lock = NSLock()
    private var sampledPeakKiB: Int
    private var stopped = false
    private let samplerDone = DispatchSemaphore(value: 0)

    init(pid: Int32) {
        self.pid = pid
        peakWasReset = Memory.resetPeak(pid)
        baselineKiB = Memory.residentKiB(pid) ?? 0
        sampledPeakKiB = baselineKiB
        Thread.detachNewThread { [self] in
            // Bounded: at most 10 minutes of samples even if finish() is never called.
            for _ in 0..<60_000 {
                if lock.withLock({ stopped }) { break }
                if let now = Memory.residentKiB(pid) { lock.withLock { sampledPeakKiB = max(sampledPeakKiB, now) } }
                usleep(10_000)
            }
            samplerDone.signal()
        }
    }

    /// Stops sampling and reports.
    func finish() -> MemoryReport {
        lock.withLock { stopped = true }
        _ = samplerDone.wait(timeout: .now() + 2)
        let after = Memory.residentKiB(pid) ?? 0
        var peak = lock.withLock { sampledPeakKiB }
        if peakWasReset, let highWater = Memory.field("VmHWM", of: pid) { peak = max(peak, highWater) }
        return MemoryReport(baselineKiB: baselineKiB, peakKiB: max(peak, after), afterKiB: after)
    }
}

struct MemoryReport: CustomStringConvertible {
    let baselineKiB: Int
    let peakKiB: Int
    let afterKiB: Int

    /// Peak growth over the baseline, in KiB.
    var growthKiB: Int { peakKiB - baselineKiB }

    var description: String {
        "VmRSS \(baselineKiB / 1024) MiB before, peak \(peakKiB / 1024) MiB, \(afterKiB / 1024) MiB after (growth \(String(format: "%.1f", Double(growthKiB) / 1024)) MiB)"
    }

    /// Records an issue when the peak grew by more than `mebibytes`.
    func expectGrowth(atMost mebibytes: Int, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        print("hostile memory: \(what): \(self), bound \(mebibytes) MiB")
        #expect(baselineKiB > 0, "could not read VmRSS", sourceLocation: sourceLocation)
        #expect(growthKiB <= mebibytes * 1024, "\(what): \(self), bound \(mebibytes) MiB\(Bounds.strict ? " (strict)" : "")",
                sourceLocation: sourceLocation)
    }
}

/// Memory bounds: generous ones for debug builds by default; with PBAUTH_HOSTILE_STRICT=1
/// the tighter ones meant for a release build (PBAUTH_PRODUCTS=.build/release).
enum Bounds {
    static let strict = ProcessInfo.processInfo.environment["PBAUTH_HOSTILE_STRICT"] == "1"

    static func mebibytes(debug: Int, strict strictBound: Int) -> Int { strict ? strictBound : debug }

    /// 1,000 unauthenticated connections, each holding a ~2 KiB partial message.
    static let thousandConnections = mebibytes(debug: 64, strict: 24)
    /// 200 logins with 500 kB usernames on one connection.
    static let hugeUsernames = mebibytes(debug: 8, strict: 4)
    /// One malformed or oversized message (prefixes, headers, nesting, references).
    static let oneBadMessage = mebibytes(debug: 32, strict: 12)
    /// 100,000 pipelined calls, answers read.
    static let flood = mebibytes(debug: 48, strict: 16)
    /// Pipelined calls whose answers are never read (8 MiB of output allowed after login).
    static let neverReads = mebibytes(debug: 40, strict: 24)
    /// Many small protocol violations (decrefs, unsolicited answers, challengers, slow peers).
    static let smallViolations = mebibytes(debug: 24, strict: 8)
    /// A subordinate fed by a malicious upstream (garbage, a 10 MB answer…).
    static let maliciousUpstream = mebibytes(debug: 48, strict: 16)
}
