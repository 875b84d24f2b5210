import Banana
import Logging
import NIOCore
import NIOEmbedded
import PBAuthProtocol
import PerspectiveBroker

/// One fuzz input against the real server pipeline: `PBServer.configureConnection` on an
/// `EmbeddedChannel`, root `BrokerPortal.root(checker:logger:)`, pbauth's connection settings.
///
/// The channel is driven as a socket channel would be: reads of the size its receive
/// allocator gives, at most `maxMessagesPerRead` of them per burst, then `channelReadComplete`,
/// and further bursts only while auto-read is on or a read was asked for. After each burst
/// and each step the embedded loop runs until nothing is ready (remote methods are tasks on
/// the loop through `EventLoopTaskExecutor`, so they run there too).
struct BrokerHarness {
    /// What both daemons configure: `ConnectionSettings.serverConfiguration` with its defaults.
    static let configuration = ConnectionSettings().serverConfiguration(Endpoint(host: "127.0.0.1", port: 0))

    static let peerAddress = try! SocketAddress(ipAddress: "192.0.2.7", port: 40_000)
    static let logger = Logger(label: "pbauth.fuzz") { _ in DiscardingLogHandler() }

    /// Outbound bytes for one input may be at most this plus `amplification` times the bytes read.
    static let outboundAllowance = 64 * 1024
    /// Longer than 1.5 times every timeout in `configuration`.
    static let quietTime: TimeAmount = {
        let settings = ConnectionSettings()
        return .seconds(Int64(2 * max(30, settings.idleTimeout, settings.loggedInIdleTimeout)))
    }()
    static let amplification = 128

    let loop: EmbeddedEventLoop
    let channel: EmbeddedChannel
    let socket: SocketEmulator
    let gate: CheckGate
    /// Bytes the peer sent that the server has not read yet.
    var unread = ByteBuffer()
    var peer = PeerView()
    private var allocator: any RecvByteBufferAllocator = AdaptiveRecvByteBufferAllocator()
    /// Whether the harness logged in (the plan's start).
    private(set) var isLoggedIn = false
    let verbose: Bool

    /// Runs `data` and checks every invariant; crashes (precondition) on a violation.
    static func run(_ data: [UInt8], verbose: Bool = false) {
        weak var brokerHandler: AnyObject?
        do {
            var harness = BrokerHarness(verbose: verbose)
            brokerHandler = harness.brokerHandler
            harness.play(FuzzPlan(data))
            harness.finish()
        }
        // The connection, its loop and everything they ran are gone: nothing may keep the
        // broker (a task that never finished, a reference cycle) alive.
        precondition(brokerHandler == nil, "the broker outlived its connection and event loop")
    }

    init(verbose: Bool) {
        self.verbose = verbose
        loop = EmbeddedEventLoop()
        channel = EmbeddedChannel(loop: loop)
        socket = SocketEmulator()
        gate = CheckGate()
        channel.remoteAddress = Self.peerAddress
        let checker = FuzzChecker(gate: gate, source: "\(Self.peerAddress.ipAddress!):\(Self.peerAddress.port!)")
        do {
            try channel.pipeline.syncOperations.addHandler(socket, name: "socket")
            try PBServer.configureConnection(channel, configuration: Self.configuration,
                                             root: BrokerPortal.root(checker: checker, logger: Self.logger), logger: Self.logger)
            try channel.connect(to: Self.peerAddress).wait()
        } catch {
            preconditionFailure("could not set up the connection: \(error)")
        }
        settle()
        precondition(peer.sawOffer, "the server did not offer its dialects")
    }

    /// The broker, the only handler `configureConnection` added.
    var brokerHandler: AnyObject? {
        (try? channel.pipeline.syncOperations.context(name: "handler0")).map { $0.handler as AnyObject }
    }

    // MARK: Playing the plan

    mutating func play(_ plan: FuzzPlan) {
        if plan.checksHeldAtStart { gate.hold() }
        if case .loggedIn(let username) = plan.start {
            logIn(username, dialect: plan.loginDialect)
        }
        if !plan.peerReadsAtStart { socket.peerStopsReading() }
        for step in plan.steps {
            guard channel.isActive else { break }
            switch step {
            case .arrive(let bytes):
                unread.writeBytes(bytes)
            case .advanceClock(let seconds):
                loop.advanceTime(by: .seconds(seconds))
            case .peerStopsReading:
                socket.peerStopsReading()
            case .peerReads:
                socket.peerStartsReading()
            case .holdChecks:
                gate.hold()
            case .releaseChecks:
                gate.release()
            case .peerCloses:
                channel.close(promise: nil)
            }
            settle()
        }
    }

    /// The handshake and a real PB login: the harness answers the server's challenge.
    private mutating func logIn(_ username: String, dialect: [UInt8]) {
        guard let account = FuzzAccounts.all[username] else { preconditionFailure("no account \(username)") }
        let pbDialect: PBDialect = dialect == Array("pb".utf8) ? .pb : .none
        peer.keepsMessages = true
        var bytes = ByteBuffer()
        PBEncoder.writeDialectChoice(dialect, into: &bytes)
        Self.encode(.version(6), pbDialect, into: &bytes)
        Self.encode(.call(PBCall(requestID: 1, object: .root, method: "login", arguments: [.bytes(Array(username.utf8))])),
                    pbDialect, into: &bytes)
        unread.writeImmutableBuffer(bytes)
        let held = gate.isHeld
        gate.release()
        settle()
        guard case .answer(1, .tuple(let result))? = peer.messages.last, result.count == 2,
              case .bytes(let challenge) = result[0], case .remote(let challenger) = result[1] else {
            preconditionFailure("no challenge for the harness's login: \(peer.messages)")
        }
        let response = PBLoginChallenge.response(secret: Array(account.secret.utf8), challenge: challenge)
        bytes.clear()
        Self.encode(.call(PBCall(requestID: 2, object: .luid(challenger), method: "respond",
                                 arguments: [.bytes(response), .none])), pbDialect, into: &bytes)
        // As Twisted's client does: the challenger's reference is dropped at once.
        Self.encode(.decref(luid: challenger), pbDialect, into: &bytes)
        unread.writeImmutableBuffer(bytes)
        settle()
        guard case .answer(2, .remote)? = peer.messages.last else {
            preconditionFailure("the harness's login as \(username) failed: \(peer.messages)")
        }
        peer.keepsMessages = false
        isLoggedIn = true
        if held { gate.hold() }
    }

    private static func encode(_ message: PBMessage, _ dialect: PBDialect, into buffer: inout ByteBuffer) {
        do {
            try PBEncoder.write(message, dialect: dialect, into: &buffer) { _ in preconditionFailure("no objects") }
        } catch {
            preconditionFailure("could not encode \(message): \(error)")
        }
    }

    // MARK: Reading and running

    /// Reads what the server may read and runs its loop until neither has anything to do.
    mutating func settle() {
        loop.run()
        drainOutbound()
        while channel.isActive, unread.readableBytes > 0, autoRead || socket.readRequested {
            socket.readRequested = false
            readBurst()
            loop.run()
            drainOutbound()
        }
    }

    /// One burst of reads, as `BaseStreamSocketChannel.readFromSocket` does it.
    private mutating func readBurst() {
        updateAllocator()
        let pipeline = channel.pipeline.syncOperations
        for _ in 0..<max(1, maxMessagesPerRead) {
            guard channel.isActive, unread.readableBytes > 0 else { break }
            let capacity = max(1, allocator.nextBufferSize() ?? 2048)
            let count = min(capacity, unread.readableBytes)
            let bytes = unread.readSlice(length: count)!
            _ = allocator.record(actualReadBytes: count)
            peer.serverRead(bytes)
            pipeline.fireChannelRead(NIOAny(bytes))
            if count < capacity { break }
        }
        if channel.isActive { pipeline.fireChannelReadComplete() }
        unread.discardReadBytes()
    }

    private func option<Option: ChannelOption>(_ option: Option) -> Option.Value? {
        channel.options.first { $0.option is Option }?.value as? Option.Value
    }

    private var autoRead: Bool { option(ChannelOptions.autoRead) ?? true }
    /// A server bootstrap's child channels start with 16 (`PBServer.start`).
    private var maxMessagesPerRead: Int { Int(option(ChannelOptions.maxMessagesPerRead) ?? 16) }

    /// Takes up the receive allocator the broker set, when it set a new one.
    private mutating func updateAllocator() {
        guard let current = option(ChannelOptions.recvAllocator) else { return }
        let changed: Bool
        if let fixed = current as? FixedSizeRecvByteBufferAllocator {
            changed = (allocator as? FixedSizeRecvByteBufferAllocator)?.capacity != fixed.capacity
        } else {
            changed = type(of: current) != type(of: allocator)
        }
        if changed { allocator = current }
    }

    private mutating func drainOutbound() {
        while true {
            let written: ByteBuffer?
            do {
                written = try channel.readOutbound(as: ByteBuffer.self)
            } catch {
                preconditionFailure("the server wrote something other than bytes: \(error)")
            }
            guard let written else { break }
            if verbose { print("server wrote \(written.readableBytes) bytes") }
            peer.serverWrote(written)
        }
        precondition(peer.outboundBytes <= Self.outboundAllowance + Self.amplification * peer.inboundBytes,
                     "the server wrote \(peer.outboundBytes) bytes after reading \(peer.inboundBytes)")
        precondition(gate.running >= 0)
    }

    // MARK: The end of the input

    /// Lets everything finish, checks what a finished connection owes the peer, then lets the
    /// clock run past every timeout: a connection that nobody talks to must close.
    mutating func finish() {
        gate.release()
        socket.peerStartsReading()
        settle()
        precondition(gate.running == 0, "\(gate.running) checker call(s) never finished")
        if channel.isActive {
            precondition(unread.readableBytes == 0,
                         "the server stopped reading with \(unread.readableBytes) bytes unread and nothing running")
            precondition(!peer.inboundFailed, "the server kept a connection open after bytes that break the protocol")
            let unanswered = peer.unansweredRequests
            precondition(unanswered.isEmpty, "the server never answered request(s) \(unanswered.prefix(8)) and stays open")
            // Past every timeout (handshake 30 s, strangers 30 s, logged in 1 h: closed within 1.5 timeouts).
            loop.advanceTime(by: Self.quietTime)
            drainOutbound()
            // (A stranger cannot log in by itself here: it would have to answer a random challenge.)
            if !isLoggedIn || Self.configuration.idleTimeout != nil {
                precondition(!channel.isActive, "a connection nobody talks to stayed open past every timeout")
            }
        }
        do {
            try loop.syncShutdownGracefully()
        } catch {
            preconditionFailure("the embedded loop did not shut down: \(error)")
        }
        drainOutbound()
        if verbose {
            print("read \(peer.inboundBytes) bytes, wrote \(peer.outboundBytes); answers \(peer.answers.values.reduce(0, +))")
        }
    }
}

/// Evaluates every log message and its metadata (so that their descriptions run too), then drops it.
struct DiscardingLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if DiscardingLogHandler.printing {
            print("log \(event.level): \(event.message) \(event.metadata ?? [:])")
        }
    }

    nonisolated(unsafe) static var printing = false
}
