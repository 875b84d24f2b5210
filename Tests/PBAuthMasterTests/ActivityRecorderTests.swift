import Foundation
import Synchronization
import Testing

@testable import PBAuthMaster

@Suite("Activity recorder")
struct ActivityRecorderTests {
    private static func record(_ index: Int) -> LoginRecord {
        LoginRecord(time: Int64(index), action: "authenticate_account", account: "alice", outcome: "success",
                    reason: "cookie", brokerPath: ["edge"], source: "127.0.0.1:1")
    }

    @Test func asksForAFlushOnceWhenTheThresholdIsReached() {
        let requests = Atomic<Int>(0)
        let recorder = ActivityRecorder(maximumPending: 100, flushThreshold: 10, wantsFlush: { requests.add(1, ordering: .relaxed) })
        for index in 0..<9 { recorder.record(Self.record(index)) }
        #expect(requests.load(ordering: .relaxed) == 0)
        recorder.record(Self.record(9))
        #expect(requests.load(ordering: .relaxed) == 1)
        for index in 10..<19 { recorder.record(Self.record(index)) }
        #expect(requests.load(ordering: .relaxed) == 1)

        #expect(recorder.drain().records.count == 19)
        for index in 0..<10 { recorder.record(Self.record(index)) }
        #expect(requests.load(ordering: .relaxed) == 2)
    }

    @Test func pastTheMaximumNewRecordsAreDroppedAndCounted() {
        let recorder = ActivityRecorder(maximumPending: 5, flushThreshold: 100)
        for index in 0..<8 { recorder.record(Self.record(index)) }
        let drained = recorder.drain()
        #expect(drained.records.map(\.time) == [0, 1, 2, 3, 4])
        #expect(drained.dropped == 3)
        #expect(recorder.drain().dropped == 0)
    }

    /// A check answered at once is recorded only while the audit log keeps up: past the backlog
    /// it is refused (and the check goes to the database threads), so nothing is dropped for it.
    @Test func cookieLoginsAnsweredAtOnceStopAtTheBacklog() {
        let recorder = ActivityRecorder(maximumPending: 1_000, flushThreshold: 4)
        #expect(recorder.backlog == 32)
        for index in 0..<32 { #expect(recorder.recordCookieLogin(Self.record(index), session: "s\(index % 3)")) }
        #expect(!recorder.recordCookieLogin(Self.record(32), session: "s9"))
        // Records of other checks still queue up to the maximum.
        recorder.record(Self.record(33))
        let drained = recorder.drain()
        #expect(drained.records.count == 33 && drained.dropped == 0)
        #expect(Set(drained.lastSeen.map(\.sessionID)) == ["s0", "s1", "s2"])
        #expect(recorder.recordCookieLogin(Self.record(34), session: "s9"))
    }

    @Test func theNewestUseOfASessionWins() {
        let recorder = ActivityRecorder()
        recorder.sessionUsed("s1", at: 20)
        recorder.sessionUsed("s1", at: 10)
        #expect(recorder.pendingLastSeen("s1") == 20)
        #expect(recorder.drain().lastSeen.map(\.at) == [20])
        // Taken for writing: still counted until the write is committed.
        #expect(recorder.pendingLastSeen("s1") == 20)
        recorder.sessionUsed("s1", at: 15)
        #expect(recorder.pendingLastSeen("s1") == 20)
        recorder.written()
        #expect(recorder.pendingLastSeen("s1") == 15)
        _ = recorder.drain()
        recorder.written()
        #expect(recorder.pendingLastSeen("s1") == nil)
    }

    /// A session used every second with an idle limit of a few: a check that reads the
    /// database while the last use is being written must not find the session idle.
    @Test func aUseBeingWrittenStillCountsAndAFailedWriteGivesItBack() {
        let recorder = ActivityRecorder()
        recorder.sessionUsed("s1", at: 100)
        let taken = recorder.drain()
        #expect(MasterChecker.isWithinIdleLimit(session: "s1", lastSeen: 90, now: 102, idleLimit: 3, activity: recorder))
        recorder.restore(taken)
        #expect(recorder.pendingLastSeen("s1") == 100)
        #expect(recorder.drain().lastSeen.map(\.at) == [100])
    }
}

@Suite("Failed-login coalescing")
struct FailureCoalescingTests {
    private static func failure(_ time: Int64, from source: String, action: String = "login") -> LoginRecord {
        LoginRecord(time: time, action: action, account: "mallory", outcome: "failure", reason: "pbauth.InvalidPassword",
                    brokerPath: [], source: source)
    }

    @Test func aFloodFromOneSourceBecomesTenRowsAndOneSummary() {
        let clock = Atomic<Int64>(1_000)
        let recorder = ActivityRecorder(now: { clock.load(ordering: .relaxed) })
        for index in 0..<500 { recorder.record(Self.failure(1_000 + Int64(index % 30), from: "203.0.113.7:\(40_000 + index)")) }
        // Another source is not affected, and successes are never coalesced.
        recorder.record(Self.failure(1_001, from: "198.51.100.1:1"))
        recorder.record(LoginRecord(time: 1_001, action: "login", account: "alice", outcome: "success", reason: "cookie",
                                    brokerPath: [], source: "203.0.113.7:2"))
        var drained = recorder.drain()
        #expect(drained.records.filter { $0.source.hasPrefix("203.0.113.7") && $0.outcome == "failure" }.count == FailureCoalescing.rowsPerSource)
        #expect(drained.records.count == FailureCoalescing.rowsPerSource + 2)
        // The window is not over yet: no summary.
        #expect(!drained.records.contains { $0.action == "login.failures_coalesced" })
        clock.store(1_000 + FailureCoalescing.windowSeconds, ordering: .relaxed)
        drained = recorder.drain()
        #expect(drained.records.count == 1)
        let summary = drained.records.first
        #expect(summary?.action == "login.failures_coalesced")
        #expect(summary?.source == "203.0.113.7")
        #expect(summary?.reason == "490 further failed logins in 60 s (pbauth.InvalidPassword)")
        // A new window: the source gets its rows again.
        recorder.record(Self.failure(1_061, from: "203.0.113.7:9"))
        #expect(recorder.drain().records.count == 1)
    }

    @Test func manySourcesAreBoundedInAll() {
        var coalescing = FailureCoalescing()
        var rows = 0
        for index in 0..<20_000 {
            let source = "10.\(index / 65_536).\(index / 256 % 256).\(index % 256):1"
            for _ in 0..<3 where coalescing.admit(Self.failure(5, from: source)) { rows += 1 }
        }
        #expect(rows == FailureCoalescing.rowsPerWindow)
        let summaries = coalescing.close()
        #expect(summaries.count == FailureCoalescing.maxSources + 1)
        #expect(summaries.last?.source == "*")
        let counted = summaries.compactMap { Int($0.reason.split(separator: " ").first ?? "") }.reduce(0, +)
        #expect(rows + counted == 60_000)
    }

    @Test func theWindowIsClosedAtShutdown() {
        let recorder = ActivityRecorder()
        let now = Int64(Date().timeIntervalSince1970)
        for index in 0..<15 { recorder.record(Self.failure(now, from: "[2001:db8::1]:\(index)")) }
        #expect(recorder.drain().records.count == 10)
        recorder.closeFailureWindow()
        let summary = recorder.drain().records
        #expect(summary.map(\.source) == ["2001:db8::1"])
        #expect(summary.first?.reason == "5 further failed logins in 60 s (pbauth.InvalidPassword)")
    }
}
