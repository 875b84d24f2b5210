import Banana
import Foundation
import PBTestSupport
import PerspectiveBroker
import TestSupport
import Testing

/// `http_listen` on real daemons: metrics that count what happened and never name a user, a
/// secret or anything a peer chose; readiness that follows the database and the upstream link;
/// retention that deletes ended sessions.
@Suite("Operations (metrics, health, retention)")
struct OperationsTests {
    static let http = ["--set", "http_listen=127.0.0.1:0"]

    /// Runs SQL on the database from another process (Python's sqlite3), answering its output.
    static func sqlite(_ database: String, _ script: String) throws -> String {
        let python = try BuiltProducts.requireTwistedPython()
        let outcome = try ChildProcess.run(python, ["-c", """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
            \(script)
            """, database], timeout: 60)
        guard outcome.status == 0 else { throw ClusterError.adminFailed("python sqlite3", outcome.standardError) }
        return outcome.standardOutput
    }

    @Test func theMasterCountsLoginsWithBoundedLabelsAndNoSecret() async throws {
        let cluster = try Cluster()
        let password = "correct-horse-battery-staple"
        try cluster.addUser("alice", password: password)
        let edge = try cluster.addBroker("edge1")
        let master = try cluster.startMaster(extra: Self.http)
        let http = try Cluster.httpPort(of: master.process, role: "master")
        let edgePort = try cluster.startSubordinate(upstreamPort: master.port, broker: "edge1", tokenFile: edge.file).port

        let live = try #require(try await httpGet(port: http, "/health/live"))
        #expect(live.status == 200)
        let ready = try #require(try await httpGet(port: http, "/health/ready"))
        #expect(ready.status == 200)
        #expect(ready.body.contains(#""database":"writable""#))
        let first = try #require(try await httpGet(port: http, "/metrics")).body
        #expect(Cluster.metric(#"pbauth_build_info{version="0.1.0-dev",role="master"}"#, in: first) == 1)

        let cookie = try #require(try await Client.authenticate(master.port, "alice", password).dictionaryValue?["cookie"]?.stringValue)
        let (atMaster, _) = try await Client.login(master.port, "alice", cookie)
        await atMaster.close()
        let (atEdge, _) = try await Client.login(edgePort, "alice", cookie)
        await atEdge.close()
        // Hostile names: none may reach the metrics, nor add a series.
        let names = (0..<40).map { "intruder-\($0)-\(UUID().uuidString.prefix(8))" }
        for name in names {
            _ = await remoteFailure { _ = try await Client.login(master.port, name, "guess") }
        }
        _ = await remoteFailure { _ = try await Client.login(master.port, "alice", "not-the-cookie") }

        var text = ""
        // The logins are counted as they are written to the activity recorder: look until all are in, at most 20 s.
        for _ in 0..<200 {
            text = try #require(try await httpGet(port: http, "/metrics")).body
            if (Cluster.metric(#"pbauth_logins_total{method="login",outcome="failure",reason="NoSuchAccount"}"#, in: text) ?? 0) >= 40 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(Cluster.metric(#"pbauth_logins_total{method="authenticate",outcome="success",reason="password"}"#, in: text) == 1)
        #expect(Cluster.metric(#"pbauth_logins_total{method="login",outcome="success",reason="cookie"}"#, in: text) == 1)
        #expect(Cluster.metric(#"pbauth_logins_total{method="authenticate_account",outcome="success",reason="cookie"}"#, in: text) == 1)
        #expect(Cluster.metric(#"pbauth_logins_total{method="login",outcome="failure",reason="NoSuchAccount"}"#, in: text) == 40)
        #expect(Cluster.metric(#"pbauth_logins_total{method="login",outcome="failure",reason="AuthenticationCookieMismatch"}"#, in: text) == 1)
        #expect(Cluster.metric(#"pbauth_broker_calls_total{method="authenticate_account",outcome="success"}"#, in: text) == 1)
        #expect((Cluster.metric(#"pbauth_check_duration_seconds_count{path="portal"}"#, in: text) ?? 0) >= 42)
        #expect((Cluster.metric(#"pbauth_worker_jobs_total{pool="scrypt"}"#, in: text) ?? 0) >= 1)
        #expect((Cluster.metric("pbauth_database_bytes", in: text) ?? 0) > 0)
        #expect(Cluster.metric("pbauth_connections_open", in: text) != nil)
        // Bounded: the same series as before the attack, and nothing a peer or a secret chose.
        let series = { (text: String) in Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").first ?? "" }) }
        #expect(series(text) == series(first))
        for secret in [password, cookie, edge.token, "alice", "not-the-cookie"] + names {
            #expect(!text.contains(secret))
        }
        #expect(!ready.body.contains("alice"))
    }

    @Test func theMasterIsNotReadyWhileItCannotWrite() async throws {
        let cluster = try Cluster()
        let master = try cluster.startMaster(extra: Self.http)
        let http = try Cluster.httpPort(of: master.process, role: "master")
        #expect(try await httpGet(port: http, "/health/ready")?.status == 200)
        // Another process holds the write lock for 8 s: the probe cannot write (it waits for the
        // lock up to the 5 s busy timeout, longer than the 3 s readiness timeout).
        let python = try BuiltProducts.requireTwistedPython()
        let holder = try RunningProcess(python, ["-c", """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            time.sleep(8)
            db.execute("ROLLBACK")
            """, cluster.database])
        #expect(holder.waitForLine(timeout: 30) { $0 == "locked" } != nil)
        let blocked = try #require(try await httpGet(port: http, "/health/ready"))
        #expect(blocked.status == 503)
        #expect(blocked.body.contains("not ready"))
        holder.stop(signal: SIGKILL, timeout: 5)
        var status = 0
        for _ in 0..<100 {
            status = try await httpGet(port: http, "/health/ready")?.status ?? 0
            if status == 200 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(status == 200)
        #expect(try await httpGet(port: http, "/health/live")?.status == 200)
    }

    @Test func aSubordinateIsReadyWhileLoggedInUpstream() async throws {
        let cluster = try Cluster()
        let edge = try cluster.addBroker("edge1")
        let master = try cluster.startMaster()
        let subordinate = try cluster.startSubordinate(upstreamPort: master.port, broker: "edge1", tokenFile: edge.file, extra: Self.http)
        let http = try Cluster.httpPort(of: subordinate.process, role: "subordinate")
        let ready = try #require(try await httpGet(port: http, "/health/ready"))
        #expect(ready.status == 200)
        #expect(ready.body.contains(#""upstream":"logged in""#))
        let upstream = "127.0.0.1:\(master.port)"
        var text = try #require(try await httpGet(port: http, "/metrics")).body
        #expect(Cluster.metric(#"pbauth_upstream_connected{upstream="\#(upstream)"}"#, in: text) == 1)
        #expect(Cluster.metric(#"pbauth_upstream_connects_total{upstream="\#(upstream)"}"#, in: text) == 1)
        #expect(Cluster.metric(#"pbauth_build_info{version="0.1.0-dev",role="subordinate"}"#, in: text) == 1)
        #expect(!text.contains(edge.token))

        master.process.stop()
        var status = 0
        for _ in 0..<100 {
            status = try await httpGet(port: http, "/health/ready")?.status ?? 0
            if status == 503 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(status == 503)
        text = try #require(try await httpGet(port: http, "/metrics")).body
        #expect(Cluster.metric(#"pbauth_upstream_connected{upstream="\#(upstream)"}"#, in: text) == 0)
        #expect(Cluster.metric(#"pbauth_upstream_losses_total{upstream="\#(upstream)"}"#, in: text) == 1)
        #expect(try await httpGet(port: http, "/health/live")?.status == 200)
    }

    @Test func endedSessionsAreDeletedAfterTheRetention() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        let master = try cluster.startMaster(extra: Self.http + ["--set", "session_lifetime=1", "--set", "session_retention=1"])
        let http = try Cluster.httpPort(of: master.process, role: "master")
        for _ in 0..<3 { _ = try await Client.authenticate(master.port, "alice", "pw") }
        // Ended after 1 s, deleted 1 s later by a sweep that runs every second: look for at most
        // 20 s. (On a busy machine the first may already be gone; the metric below counts all three.)
        var remaining = "3\n"
        for _ in 0..<100 {
            remaining = try Self.sqlite(cluster.database, "print(db.execute('SELECT count(*) FROM sessions').fetchone()[0])")
            if remaining == "0\n" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(remaining == "0\n")
        let text = try #require(try await httpGet(port: http, "/metrics")).body
        #expect(Cluster.metric("pbauth_sessions_deleted_total", in: text) == 3)
    }

    @Test func aFloodOfFailedLoginsIsCoalescedInTheAuditLog() async throws {
        let cluster = try Cluster()
        try cluster.addUser("alice", password: "pw")
        let master = try cluster.startMaster()
        for _ in 0..<30 {
            _ = await remoteFailure { _ = try await Client.login(master.port, "alice", "wrong") }
        }
        // A graceful stop writes the window's summary.
        #expect(master.process.stop() == 0)
        let audit = try cluster.admin(["audit", "--json", "--database", cluster.database])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(audit.utf8)) as? [[String: Any]])
        let failures = entries.filter { $0["action"] as? String == "login" && $0["outcome"] as? String == "failure" }
        #expect(failures.count == 10)
        let summaries = entries.filter { $0["action"] as? String == "login.failures_coalesced" }
        #expect(summaries.count == 1)
        #expect(summaries.first?["source"] as? String == "127.0.0.1")
        #expect(summaries.first?["reason"] as? String == "20 further failed logins in 60 s (pbauth.AuthenticationCookieMismatch)"
                || summaries.first?["reason"] as? String == "20 further failed logins in 60 s (pbauth.InvalidPassword)")
    }
}
