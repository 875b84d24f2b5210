import Foundation
import NIOCore
import TestSupport

/// Finds the captured Twisted streams, kept in the repository (`Tests/Fixtures/pb-capture`,
/// whose README says how they were made).
enum CaptureLocation {
    static var capturesFolder: String {
        BuiltProducts.packageRoot + "/Tests/Fixtures/pb-capture/captures"
    }

    /// Every `conn*.c2s.bin` / `conn*.s2c.bin` of `scenario` ("main" or "extras"), sorted.
    static func streams(_ scenario: String) throws -> [String] {
        let folder = capturesFolder + "/" + scenario
        return try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasPrefix("conn") && $0.hasSuffix(".bin") }
            .sorted()
            .map { folder + "/" + $0 }
    }

    static func bytes(_ path: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
