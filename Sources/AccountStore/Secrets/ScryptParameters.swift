/// scrypt's cost parameters: N = 2^logN, block size r, parallelism p.
public struct ScryptParameters: Sendable, Equatable, CustomStringConvertible {
    /// log2 of N, the CPU/memory cost.
    public var logN: Int
    /// The block size.
    public var r: Int
    /// The parallelism.
    public var p: Int

    /// N=2^17, r=8, p=1: OWASP's recommendation (about 128 MiB per hash).
    public static let `default` = ScryptParameters(logN: 17, r: 8, p: 1)

    /// Bounds accepted from a stored hash or a configuration, so that a tampered
    /// row or a typo cannot make one check take minutes or gigabytes.
    static let logNRange = 1...22
    static let rRange = 1...32
    static let pRange = 1...16

    /// Creates parameters; `isValid` tells whether they are within bounds.
    public init(logN: Int, r: Int, p: Int) {
        self.logN = logN
        self.r = r
        self.p = p
    }

    /// Whether every parameter is within the accepted bounds.
    public var isValid: Bool {
        Self.logNRange.contains(logN) && Self.rRange.contains(r) && Self.pRange.contains(p)
    }

    /// `ln=17,r=8,p=1`, as in a PHC string.
    public var description: String { "ln=\(logN),r=\(r),p=\(p)" }
}
