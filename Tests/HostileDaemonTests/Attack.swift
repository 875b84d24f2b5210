import Foundation
import Testing

/// Where an attacker stands when it sends its bytes.
enum Stance: String, Sendable, CaseIterable, CustomTestStringConvertible {
    /// Connected, handshake done, not logged in.
    case stranger = "before login"
    /// Logged in with a cookie: the normal limits apply.
    case loggedIn = "after login"

    var testDescription: String { rawValue }
}

/// The raw attacker's ways of sending bytes and checking what the server did about them.
enum Attack {
    /// A raw peer at `deployment` in `stance` (the avatar's luid when logged in, else 0).
    static func peer(_ deployment: Deployment, _ stance: Stance, receiveBuffer: Int? = nil) async throws -> (peer: RawPB, avatar: Int) {
        switch stance {
        case .loggedIn:
            return try await deployment.loggedInRawPeer(receiveBuffer: receiveBuffer)
        case .stranger:
            let port = deployment.port
            return (try await offThread { try RawPB.open(port: port, receiveBuffer: receiveBuffer) }, 0)
        }
    }

    /// Opens a peer in `stance`, sends what `message` makes, and checks that the server closes
    /// the connection within `seconds` (whatever it answered before does not count).
    static func expectClosed(_ deployment: Deployment, _ stance: Stance, _ what: String, within seconds: Double = 15,
                             sourceLocation: SourceLocation = #_sourceLocation,
                             _ message: @escaping @Sendable (_ peer: RawPB, _ avatar: Int) -> [UInt8]) async {
        guard deployment.checkAlive("before \(what) \(stance.rawValue)", sourceLocation: sourceLocation) else { return }
        do {
            let (peer, avatar) = try await peer(deployment, stance)
            let started = Date()
            let (closed, detail) = await offThread { () -> (Bool, String) in
                defer { peer.socket.close() }
                let bytes = message(peer, avatar)
                let sent = peer.socket.send(bytes, timeout: seconds)
                let closed = peer.socket.waitForServerClose(within: max(1, seconds - Date().timeIntervalSince(started)))
                return (closed, "\(bytes.count) bytes, send \(sent), received \(peer.socket.receivedSummary())")
            }
            guard deployment.checkAlive("during \(what) \(stance.rawValue)", sourceLocation: sourceLocation) else { return }
            #expect(closed, """
                the \(deployment.target) did not close the connection within \(seconds) s after \(what) \(stance.rawValue) \
                (\(detail))
                \(Deployment.tail(deployment.process, 8))
                """, sourceLocation: sourceLocation)
        } catch {
            guard deployment.checkAlive("before \(what) \(stance.rawValue)", sourceLocation: sourceLocation) else { return }
            Issue.record("\(what) \(stance.rawValue): could not set up the attack: \(error)\n\(Deployment.tail(deployment.process, 8))",
                         sourceLocation: sourceLocation)
        }
    }

    /// Standard ending of an attack test: the daemon logged the closing, a bystander logged in
    /// before is still served, a fresh cookie login works, and memory stayed within `bound` MiB.
    static func expectSurvived(_ deployment: Deployment, _ what: String, memory watch: MemoryWatch, bound: Int,
                               logStart: Int, bystander: Bystander?, expectClosingLog: Bool = true,
                               sourceLocation: SourceLocation = #_sourceLocation) async {
        let report = watch.finish()
        guard deployment.checkAlive("during \(what)", sourceLocation: sourceLocation) else { return }
        if expectClosingLog {
            await deployment.expectClosingLogged(since: logStart, what, sourceLocation: sourceLocation)
        }
        if let bystander {
            #expect(await bystander.isServed(), "a user logged in before \(what) was no longer served by the \(deployment.target)",
                    sourceLocation: sourceLocation)
            await bystander.close()
        }
        await deployment.expectServesCookieLogin("after \(what)", sourceLocation: sourceLocation)
        report.expectGrowth(atMost: bound, "\(deployment.target) memory during \(what)", sourceLocation: sourceLocation)
    }
}
