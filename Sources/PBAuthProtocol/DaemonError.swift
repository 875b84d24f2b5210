/// Why a daemon could not start.
public enum DaemonError: Error, CustomStringConvertible {
    /// The listening address is taken or not valid here.
    case cannotListen(String)
    /// The token file cannot be read or is empty.
    case unreadableTokenFile(String)
    /// A required setting has no value.
    case missingSetting(key: String, hint: String)
    /// Both `listen` and `tls_listen` are off.
    case noListener

    /// One line a person can act on.
    public var description: String {
        switch self {
        case .missingSetting(let key, let hint): "\(key) is required (\(hint))"
        case .cannotListen(let address): "cannot listen on \(address): is another process using it?"
        case .unreadableTokenFile(let path): "cannot read a token from \(path): it must hold the token printed by 'pbauth account add NAME --broker'"
        case .noListener: "nothing to listen on: 'listen' is off and 'tls_listen' is not set"
        }
    }
}
