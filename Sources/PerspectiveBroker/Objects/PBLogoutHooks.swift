import Synchronization

/// The avatars' logout callbacks of one connection; each runs exactly once, when the
/// avatar's last reference is released or when the connection closes, whichever is first.
///
/// Shared between the event loop and the tasks running remote methods (the portal attaches
/// a hook from a task), hence the lock.
final class PBLogoutHooks: Sendable {
    private struct Hook {
        /// Keeps the avatar alive so that its ObjectIdentifier stays unique.
        let avatar: any PBReferenceable
        let logout: @Sendable () -> Void
    }

    private struct State {
        var closed = false
        var hooks: [ObjectIdentifier: [Hook]] = [:]
    }

    private let state = Mutex(State())

    /// Runs `logout` once `avatar` is released; immediately if the connection already closed.
    func attach(_ logout: @escaping @Sendable () -> Void, to avatar: any PBReferenceable) {
        let runNow = state.withLock { state -> Bool in
            if state.closed { return true }
            state.hooks[ObjectIdentifier(avatar), default: []].append(Hook(avatar: avatar, logout: logout))
            return false
        }
        if runNow { logout() }
    }

    /// Runs (and forgets) the hooks of `object`, whose last reference went away.
    func released(_ object: any PBReferenceable) {
        let hooks = state.withLock { $0.hooks.removeValue(forKey: ObjectIdentifier(object)) } ?? []
        for hook in hooks { hook.logout() }
    }

    /// Runs every remaining hook; later attachments run at once.
    func closeAndRunAll() {
        let hooks = state.withLock { state -> [Hook] in
            state.closed = true
            defer { state.hooks.removeAll() }
            return state.hooks.values.flatMap { $0 }
        }
        for hook in hooks { hook.logout() }
    }
}
