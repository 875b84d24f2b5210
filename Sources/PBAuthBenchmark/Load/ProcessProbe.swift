import Foundation

/// Reads another process's resident memory and CPU time from /proc (Linux).
enum ProcessProbe {
    /// Resident memory in bytes (VmRSS), or nil when it cannot be read.
    static func residentBytes(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }

    /// User and system CPU seconds a process (or thread) has used, apart.
    struct CPUTimes: Sendable {
        var user: Double
        var system: Double

        static func - (after: CPUTimes, before: CPUTimes) -> CPUTimes {
            CPUTimes(user: after.user - before.user, system: after.system - before.system)
        }
    }

    /// User + system CPU seconds the process has used, or nil.
    static func cpuSeconds(pid: Int32) -> Double? {
        cpuTimes(pid: pid).map { $0.user + $0.system }
    }

    /// User and system CPU seconds the process has used (all its threads), or nil.
    static func cpuTimes(pid: Int32) -> CPUTimes? {
        cpuTimes(statPath: "/proc/\(pid)/stat")
    }

    /// CPU seconds used so far by each thread of the process, by thread id.
    static func threadCPUSeconds(pid: Int32) -> [String: Double] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var seconds: [String: Double] = [:]
        for task in tasks {
            seconds[task] = cpuTimes(statPath: "/proc/\(pid)/task/\(task)/stat").map { $0.user + $0.system }
        }
        return seconds
    }

    /// How many threads used more than half a core between two `threadCPUSeconds` readings `wall` seconds apart.
    static func busyThreads(before: [String: Double], after: [String: Double], wall: Double) -> Int {
        after.filter { task, used in (used - (before[task] ?? 0)) / wall > 0.5 }.count
    }

    /// Clock ticks (`_SC_CLK_TCK`, 100 on Linux: 10 ms) are the unit of /proc's times.
    private static func cpuTimes(statPath: String) -> CPUTimes? {
        guard let stat = try? String(contentsOfFile: statPath, encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime field 14, stime field 15 (1-based over the whole line).
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return CPUTimes(user: user / ticks, system: system / ticks)
    }
}
