import Testing

/// Every hostile-input test against the real daemons, one at a time: each measures one
/// daemon's memory, and two attacks at once on a 2-core machine would blur each other.
@Suite("HostileDaemon", .serialized)
enum HostileDaemon {}
