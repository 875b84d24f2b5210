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

    @Test func theNewestUseOfASessionWins() {
        let recorder = ActivityRecorder()
        recorder.sessionUsed("s1", at: 20)
        recorder.sessionUsed("s1", at: 10)
        #expect(recorder.pendingLastSeen("s1") == 20)
        #expect(recorder.drain().lastSeen.map(\.at) == [20])
        #expect(recorder.pendingLastSeen("s1") == nil)
    }
}
