/// One fuzz input, read as a plan: how the connection starts, then what the peer does.
///
/// Layout (see also `pb.dict`):
///
///     byte 0           flags
///       bits 0-1         start: 0 stranger (the input speaks from the first byte, dialect
///                        choice included), 1 logged in as user `alice` (a password login),
///                        2 logged in as broker principal `edge1`, 3 logged in as user `carol`
///                        (a cookie login); the harness performs the real handshake and login
///                        first, answering the server's real challenge
///       bit 2            the login is made in dialect `none` instead of `pb`
///       bit 3            checker calls wait from the start until a `release` step
///       bits 4-6         trickle: each piece the peer sends arrives in reads of at most
///                        0 (whole), 1, 2, 3, 5, 8, 64 or 1000 bytes
///       bit 7            the peer does not read what the server writes (until a `read` step)
///     byte 1...        bytes the peer sends, cut into pieces by FF FE FD <op>:
///       op & 7 == 0, 7   a plain cut: what came before arrives, the loop runs until quiet
///       op & 7 == 1      the clock moves ((op >> 3) + 1) * 2 seconds (2 to 64 s)
///       op & 7 == 2      the peer stops reading what the server writes
///       op & 7 == 3      the peer reads again
///       op & 7 == 4      checker calls wait from now on
///       op & 7 == 5      waiting checker calls go on
///       op & 7 == 6      the peer closes the connection (the rest is not sent)
///
/// Pieces arrive one after another; between two, the server reads what it may (as a socket
/// channel would: its read size, messages per read and auto-read decide) and its event loop
/// runs until it has nothing left to do.
struct FuzzPlan {
    enum Start: Equatable {
        case stranger
        case loggedIn(username: String)
    }

    enum Step: Equatable {
        case arrive([UInt8])
        case advanceClock(seconds: Int64)
        case peerStopsReading
        case peerReads
        case holdChecks
        case releaseChecks
        case peerCloses
    }

    static let separator: [UInt8] = [0xFF, 0xFE, 0xFD]
    static let trickleSizes = [0, 1, 2, 3, 5, 8, 64, 1000]

    var start: Start
    var loginDialect: [UInt8]
    var checksHeldAtStart: Bool
    var trickle: Int
    var peerReadsAtStart: Bool
    var steps: [Step]

    init(_ data: [UInt8]) {
        let flags = data.first ?? 0
        switch flags & 3 {
        case 1: start = .loggedIn(username: "alice")
        case 2: start = .loggedIn(username: "edge1")
        case 3: start = .loggedIn(username: "carol")
        default: start = .stranger
        }
        loginDialect = Array((flags & 4 != 0 ? "none" : "pb").utf8)
        checksHeldAtStart = flags & 8 != 0
        trickle = Self.trickleSizes[Int((flags >> 4) & 7)]
        peerReadsAtStart = flags & 0x80 == 0
        steps = []
        var index = min(1, data.count)
        var pieceStart = index
        while index < data.count {
            guard index + Self.separator.count <= data.count,
                  data[index] == Self.separator[0], data[index + 1] == Self.separator[1], data[index + 2] == Self.separator[2]
            else {
                index += 1
                continue
            }
            arrive(data[pieceStart..<index])
            let opIndex = index + Self.separator.count
            let op = opIndex < data.count ? data[opIndex] : 0
            switch op & 7 {
            case 1: steps.append(.advanceClock(seconds: (Int64(op >> 3) + 1) * 2))
            case 2: steps.append(.peerStopsReading)
            case 3: steps.append(.peerReads)
            case 4: steps.append(.holdChecks)
            case 5: steps.append(.releaseChecks)
            case 6: steps.append(.peerCloses)
            default: break
            }
            index = min(opIndex + 1, data.count)
            pieceStart = index
        }
        arrive(data[pieceStart..<data.count])
    }

    private mutating func arrive(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        guard trickle > 0 else {
            steps.append(.arrive(Array(bytes)))
            return
        }
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = min(start + trickle, bytes.endIndex)
            steps.append(.arrive(Array(bytes[start..<end])))
            start = end
        }
    }

    /// One line for `-v`.
    var summary: String {
        let pieces = steps.reduce(0) { count, step in if case .arrive = step { count + 1 } else { count } }
        return "start \(start), login dialect \(String(decoding: loginDialect, as: UTF8.self)), checks held \(checksHeldAtStart), "
            + "trickle \(trickle), peer reads \(peerReadsAtStart), \(steps.count) steps (\(pieces) pieces)"
    }
}
