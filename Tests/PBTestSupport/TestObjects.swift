import Banana
import PerspectiveBroker
import Synchronization

/// A portal that knows alice/"sesame" and counts logins and logouts.
public final class TestPortal: PBPortal {
    public let users: [[UInt8]: [UInt8]] = [Array("alice".utf8): Array("sesame".utf8)]
    public let logins = Atomic<Int>(0)
    public let logouts = Atomic<Int>(0)

    public init() {}

    public func login(username: [UInt8], challenge: [UInt8], response: [UInt8], mind: JellyValue,
               connection: PBConnectionInfo) async throws -> PBAvatarLogin {
        guard let secret = users[username],
              PBLoginChallenge.constantTimeEquals(response, PBLoginChallenge.response(secret: secret, challenge: challenge))
        else { throw PBFailures.unauthorizedLogin() }
        logins.wrappingAdd(1, ordering: .relaxed)
        return PBAvatarLogin(avatar: EchoAvatar(mind: mind)) { [self] in
            logouts.wrappingAdd(1, ordering: .relaxed)
        }
    }
}

/// The avatar the interop client expects: echo, echoKw, isSame, fail, getChild, isMyChild, slow.
public final class EchoAvatar: PBReferenceable {
    public let isAvatar = true
    public let child = ChildObject()
    public let mind: JellyValue

    public init(mind: JellyValue = .none) {
        self.mind = mind
    }

    public func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary,
                       context: PBCallContext) async throws -> JellyValue {
        switch method {
        case "echo":
            return .tuple(arguments)
        case "echoKw":
            return .list([.list(arguments), .dictionary(keywords)])
        case "isSame":
            guard arguments.count == 2 else { throw PBCallError.badArguments("isSame takes 2 arguments") }
            if case .shared(let first) = arguments[0], case .shared(let second) = arguments[1] {
                return .bool(first === second)
            }
            return .bool(false)
        case "fail":
            throw JellyFailure(type: "builtins.ValueError", value: "deliberate failure",
                               parents: ["builtins.ValueError", "builtins.Exception", "builtins.BaseException",
                                         "builtins.object"])
        case "crash":
            throw SecretLeakingError(secret: "hunter2")
        case "getChild":
            return .object(child)
        case "isMyChild":
            guard arguments.count == 1 else { throw PBCallError.badArguments("isMyChild takes 1 argument") }
            if case .object(let object) = arguments[0] { return .bool(object === child) }
            return .bool(false)
        case "newChild":
            return .object(ChildObject())
        case "callMind":
            guard case .object(let object) = mind, let reference = object as? PBRemoteReference else {
                throw PBCallError.badArguments("no mind")
            }
            return try await reference.callRemote("hello", arguments: arguments, keywords: [:])
        case "sleep":
            try await Task.sleep(for: .seconds(arguments.first?.intValue ?? 1))
            return .none
        default:
            throw PBCallError.noSuchMethod(method)
        }
    }
}

public struct SecretLeakingError: Error, CustomStringConvertible {
    public let secret: String
    public var description: String { "the secret is \(secret)" }
}

/// A plain referenceable: ping(x) -> ("pong", x).
public final class ChildObject: PBReferenceable {
    public init() {}

    public func remoteMessage(_ method: String, arguments: [JellyValue], keywords: JellyDictionary,
                       context: PBCallContext) async throws -> JellyValue {
        guard method == "ping" else { throw PBCallError.noSuchMethod(method) }
        return .tuple([.string("pong")] + arguments)
    }
}
