import Foundation
import Logging
import PBAuthOperations
import Synchronization
import TestSupport
import Testing

/// The operations listener in this process, with routes of the test's own (no metrics
/// backend needed: `/metrics` answers whatever the route gives).
@Suite("Operations HTTP listener")
struct OperationsHTTPServerTests {
    final class Flag: Sendable {
        let value = Atomic<Bool>(true)
    }

    final class Listener: Sendable {
        let server: OperationsHTTPServer
        let port: Int
        let ready: Flag

        init(limits: OperationsHTTPLimits = OperationsHTTPLimits(), readinessDelay: Duration = .zero) async throws {
            let ready = Flag()
            self.ready = ready
            let routes = OperationsRoutes(role: "test", metrics: { "# TYPE test_total counter\ntest_total 1\n" }, readiness: {
                if readinessDelay > .zero { try? await Task.sleep(for: readinessDelay) }
                let isReady = ready.value.load(ordering: .relaxed)
                return HealthReport(ready: isReady, checks: ["thing": isReady ? "fine" : "broken"])
            })
            server = OperationsHTTPServer(host: "127.0.0.1", port: 0, routes: routes, limits: limits, logger: Logger(label: "test"))
            port = try await server.start()
        }

        func get(_ path: String) async throws -> HTTPAnswer? {
            let port = self.port
            return try await blocking {
                let connection = try RawHTTPConnection(port: port)
                connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return connection.readResponse()
            }
        }
    }

    @Test func servesLivenessReadinessAndMetrics() async throws {
        let listener = try await Listener()
        defer { Task { await listener.server.stop() } }
        let live = try #require(try await listener.get("/health/live"))
        #expect(live.status == 200)
        #expect(live.body == #"{"role":"test","status":"live"}"# + "\n")
        let ready = try #require(try await listener.get("/health/ready"))
        #expect(ready.status == 200)
        #expect(ready.headers["content-type"] == "application/json")
        #expect(ready.body == #"{"checks":{"thing":"fine"},"role":"test","status":"ready"}"# + "\n")
        listener.ready.value.store(false, ordering: .relaxed)
        let notReady = try #require(try await listener.get("/health/ready"))
        #expect(notReady.status == 503)
        #expect(notReady.body.contains(#""status":"not ready""#))
        let metrics = try #require(try await listener.get("/metrics?x=1"))
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.body == "# TYPE test_total counter\ntest_total 1\n")
        #expect(try await listener.get("/nothing")?.status == 404)
    }

    @Test func aSlowReadinessCheckAnswersNotReadyInTime() async throws {
        var limits = OperationsHTTPLimits()
        limits.readinessTimeout = .milliseconds(300)
        let listener = try await Listener(limits: limits, readinessDelay: .seconds(30))
        defer { Task { await listener.server.stop() } }
        let answer = try #require(try await listener.get("/health/ready"))
        #expect(answer.status == 503)
        #expect(answer.body.contains("timed out"))
    }

    @Test func onlyGetIsServed() async throws {
        let listener = try await Listener()
        defer { Task { await listener.server.stop() } }
        let port = listener.port
        let server = listener.server
        try await blocking {
            for method in ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"] {
                let connection = try RawHTTPConnection(port: port)
                connection.send("\(method) /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let (text, _) = connection.read()
                #expect(text.hasPrefix("HTTP/1.1 405"), "\(method)")
                #expect(text.contains("Allow: GET"))
            }
        }
    }

    @Test func aRequestWithABodyIsRefusedAndClosed() async throws {
        let listener = try await Listener()
        defer { Task { await listener.server.stop() } }
        let port = listener.port
        let server = listener.server
        try await blocking {
            for framing in ["Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n"] {
                let connection = try RawHTTPConnection(port: port)
                connection.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\(framing)\r\nhello")
                let (text, closed) = connection.read()
                #expect(text.hasPrefix("HTTP/1.1 413"))
                #expect(closed)
            }
        }
    }

    @Test func anOversizedRequestClosesTheConnection() async throws {
        let listener = try await Listener()
        defer { Task { await listener.server.stop() } }
        let port = listener.port
        let server = listener.server
        try await blocking {
            let connection = try RawHTTPConnection(port: port)
            // 64 KiB of headers, far past the 8 KiB a request may take; no answer, just the close.
            var request = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
            for index in 0..<1_024 { request += "X-Filler-\(index): \(String(repeating: "a", count: 50))\r\n" }
            connection.send(request + "\r\n")
            let (text, closed) = connection.read()
            #expect(closed)
            #expect(!text.contains("200 OK"))
        }
    }

    @Test func aSlowRequestIsCutOff() async throws {
        var limits = OperationsHTTPLimits()
        limits.requestTimeout = .milliseconds(500)
        let listener = try await Listener(limits: limits)
        defer { Task { await listener.server.stop() } }
        let port = listener.port
        let server = listener.server
        try await blocking {
            let connection = try RawHTTPConnection(port: port)
            let started = ContinuousClock.now
            connection.send("GET /metrics HTTP/1.1\r\nHost: x\r\n")  // and never the end of the head
            let (text, closed) = connection.read()
            #expect(closed)
            #expect(text.isEmpty)
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test func eachRequestOnAKeptConnectionGetsTheWholeTimeout() async throws {
        var limits = OperationsHTTPLimits()
        limits.requestTimeout = .milliseconds(500)
        let listener = try await Listener(limits: limits)
        defer { Task { await listener.server.stop() } }
        let port = listener.port
        try await blocking {
            let connection = try RawHTTPConnection(port: port)
            // Three requests 400 ms apart: 1.2 s on one connection, each well within its own 500 ms.
            for _ in 0..<3 {
                connection.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(connection.readResponse()?.status == 200)
                usleep(400_000)
            }
        }
    }

    @Test func connectionsAreBounded() async throws {
        var limits = OperationsHTTPLimits()
        limits.maxConnections = 2
        let listener = try await Listener(limits: limits)
        defer { Task { await listener.server.stop() } }
        let port = listener.port
        let server = listener.server
        try await blocking {
            let first = try RawHTTPConnection(port: port)
            let second = try RawHTTPConnection(port: port)
            // Both are counted once the listener accepted them: a request on each proves it.
            first.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(first.readResponse()?.status == 200)
            second.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(second.readResponse()?.status == 200)
            let third = try RawHTTPConnection(port: port)
            third.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            let (text, closed) = third.read()
            #expect(closed)
            #expect(text.isEmpty)
            #expect(server.refusedConnections == 1)
        }
    }

    @Test func keepAliveAndPipelinedRequestsAreAnsweredInOrder() async throws {
        let listener = try await Listener()
        defer { Task { await listener.server.stop() } }
        let port = listener.port
        let server = listener.server
        try await blocking {
            let connection = try RawHTTPConnection(port: port)
            connection.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let (text, closed) = connection.read()
            #expect(closed)
            let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses == ["200", "200", "404"])
            #expect(text.range(of: "live")!.lowerBound < text.range(of: "test_total 1")!.lowerBound)
        }
    }
}
