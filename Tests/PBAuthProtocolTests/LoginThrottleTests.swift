import Logging
import PBAuthProtocol
import Testing

@Suite("Per-source login throttle")
struct LoginThrottleTests {
    @Test func onlyTheFailingSourceIsThrottledAndASuccessStartsItOver() async {
        let throttle = LoginThrottle(rates: .init(freeFailures: 2, baseDelay: .milliseconds(1), maxDelay: .milliseconds(4)),
                                     logger: Logger(label: "test.throttle"))
        for _ in 0..<4 { await throttle.failed(source: "10.0.0.1:5000") }
        #expect(throttle.throttledAttempts == 2)
        // Another address, and the same address on another port: only the address counts.
        for _ in 0..<2 { await throttle.failed(source: "10.0.0.2:6000") }
        #expect(throttle.throttledAttempts == 2)
        await throttle.failed(source: "10.0.0.1:5999")
        #expect(throttle.throttledAttempts == 3)
        throttle.succeeded(source: "10.0.0.1:1")
        for _ in 0..<2 { await throttle.failed(source: "10.0.0.1:5000") }
        #expect(throttle.throttledAttempts == 3)
        // IPv6 addresses are written [ip]:port.
        for _ in 0..<3 { await throttle.failed(source: "[::1]:7000") }
        #expect(throttle.throttledAttempts == 4)
    }
}
