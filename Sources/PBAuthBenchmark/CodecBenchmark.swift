import Banana
import NIOCore

/// `pbauth-bench codec`: decode + encode of a typical `authenticate_account` call and its answer.
enum CodecBenchmark {
    static func run(arguments: [String]) throws {
        print("codec benchmark: not implemented yet")
    }
}
