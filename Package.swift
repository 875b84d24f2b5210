// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "pbauth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pbauth", targets: ["pbauth"]),
        .executable(name: "pbauth-bench", targets: ["PBAuthBenchmark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // MARK: The master's database
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .executableTarget(
            name: "MigrationEmbedder",
            path: "Plugins/MigrationEmbedder"
        ),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),
        .target(
            name: "AccountStore",
            dependencies: [
                "CSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            plugins: ["EmbedMigrations"]
        ),

        // MARK: Perspective Broker, independent of pbauth
        .target(
            name: "Banana",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "PerspectiveBroker",
            dependencies: [
                "Banana",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: pbauth's meaning
        .target(
            name: "Authenticator",
            dependencies: [
                "AccountStore",
                "PerspectiveBroker",
                "Banana",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "pbauth",
            dependencies: [
                "AccountStore",
                "Authenticator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Measuring
        .executableTarget(
            name: "PBAuthBenchmark",
            dependencies: [
                "AccountStore",
                "Banana",
                "PerspectiveBroker",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "BananaFuzz",
            dependencies: [
                "Banana",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "BrokerFuzz",
            dependencies: [
                "AccountStore",
                "Authenticator",
                "Banana",
                "PerspectiveBroker",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            exclude: ["pb.dict"]
        ),

        // MARK: Tests
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport"
        ),
        .target(
            name: "PBTestSupport",
            dependencies: [
                "PerspectiveBroker",
                "Banana",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/PBTestSupport"
        ),
        .testTarget(
            name: "AccountStoreTests",
            dependencies: ["AccountStore", "TestSupport"]
        ),
        .testTarget(
            name: "BananaTests",
            dependencies: [
                "Banana",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PerspectiveBrokerTests",
            dependencies: [
                "PerspectiveBroker",
                "PBTestSupport",
                "Banana",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "AuthenticatorTests",
            dependencies: [
                "Authenticator", "AccountStore", "PerspectiveBroker", "Banana", "TestSupport", "PBTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: [
                "PBTestSupport", "PerspectiveBroker", "Banana", "TestSupport",
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
