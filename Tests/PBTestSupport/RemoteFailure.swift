import Banana
import PerspectiveBroker

/// The failure the peer answered `body`'s call with, or nil when it succeeded or failed
/// otherwise (the connection lost, a time limit).
public func remoteFailure<Result>(_ body: () async throws -> Result) async -> JellyFailure? {
    do {
        _ = try await body()
        return nil
    } catch PBCallError.remoteFailure(let failure) {
        return failure
    } catch {
        return nil
    }
}
