// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "pbauth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pbauth", targets: ["pbauth"]),
        // Perspective Broker over SwiftNIO, independent of pbauth.
        .library(name: "PerspectiveBroker", targets: ["PerspectiveBroker", "Banana"]),
        // pbauth as the authenticator of a Swift application broker with its own avatars.
        .library(name: "PBAuthSubordinate", targets: ["PBAuthSubordinate", "PBAuthProtocol"]),
        .executable(name: "pbauth-bench", targets: ["PBAuthBenchmark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
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
        // The one rule for account names, shared by the store and the protocol.
        .target(name: "AccountNames"),
        .target(
            name: "AccountStore",
            dependencies: [
                "CSQLite",
                "AccountNames",
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
        // What every pbauth broker means on the wire: the checker, the status and failures,
        // the avatars and the portal. No database.
        .target(
            name: "PBAuthProtocol",
            dependencies: [
                "PBAuthMetrics",
                "PerspectiveBroker",
                "Banana",
                "AccountNames",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // TLS for the listeners and the upstream link (TLSFiles, TLSServerContext, TLSClientContext).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The master: the checker over the account store, its root methods and its services.
        .target(
            name: "PBAuthMaster",
            dependencies: [
                "PBAuthMetrics",
                "PBAuthProtocol",
                "AccountStore",
                "AccountNames",
                "PerspectiveBroker",
                "Banana",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A subordinate: the checker that asks an upstream, its link and its services.
        // Keeps nothing, links no SQLite.
        .target(
            name: "PBAuthSubordinate",
            dependencies: [
                "PBAuthMetrics",
                "PBAuthProtocol",
                "PerspectiveBroker",
                "Banana",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The metrics every pbauth module records, by name, through swift-metrics (whatever
        // backend the process bootstrapped; none in a library user that bootstrapped none).
        .target(
            name: "PBAuthMetrics",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Running it in production: the HTTP listener for metrics (Prometheus) and health.
        .target(
            name: "PBAuthOperations",
            dependencies: [
                "PBAuthMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The daemons' wiring: settings from files, the environment and flags, and the
        // service groups that run a master or a subordinate.
        .target(
            name: "PBAuthDaemon",
            dependencies: [
                "PBAuthOperations", "PBAuthMetrics",
                "PBAuthMaster",
                "PBAuthSubordinate",
                "PBAuthProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // SIGHUP reloads the TLS files.
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "pbauth",
            dependencies: [
                "AccountNames",
                "AccountStore",
                "PBAuthDaemon",
                "PBAuthMaster",
                "PBAuthSubordinate",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Examples (the DocC articles show them; tests do the same)
        .executableTarget(
            name: "pb-echo-example",
            dependencies: [
                "PerspectiveBroker", "Banana",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/PBEcho"
        ),
        .executableTarget(
            name: "pbauth-app-broker-example",
            dependencies: [
                "PBAuthSubordinate", "PBAuthProtocol", "PerspectiveBroker", "Banana",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/AppBroker"
        ),

        // MARK: Measuring
        .executableTarget(
            name: "PBAuthBenchmark",
            dependencies: [
                "AccountStore",
                "Banana",
                "PerspectiveBroker",
                "PBAuthProtocol",  // TLSClientContext for `load --tls`
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
                "AccountNames",
                "Banana",
                "PBAuthProtocol",
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
        .target(
            name: "StoreTestSupport",
            dependencies: ["AccountStore", "TestSupport"],
            path: "Tests/StoreTestSupport"
        ),
        .testTarget(
            name: "AccountStoreTests",
            dependencies: ["AccountStore", "StoreTestSupport", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "PBAuthCommandTests",
            dependencies: ["AccountStore", "StoreTestSupport", "TestSupport"]
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
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PBAuthProtocolTests",
            dependencies: [
                "PBAuthProtocol", "PerspectiveBroker", "Banana", "PBTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PBAuthSubordinateTests",
            dependencies: [
                "PBAuthSubordinate", "PBAuthProtocol", "PerspectiveBroker", "Banana", "PBTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PBAuthMasterTests",
            dependencies: [
                "PBAuthMaster", "AccountStore", "PerspectiveBroker", "Banana", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PBAuthOperationsTests",
            dependencies: [
                "PBAuthOperations", "PBAuthMetrics", "PBAuthProtocol", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PBAuthDaemonTests",
            dependencies: [
                "PBAuthDaemon", "PBAuthMaster", "PBAuthSubordinate", "PBAuthProtocol",
                "PerspectiveBroker", "Banana", "TestSupport", "PBTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "HostileDaemonTests",
            dependencies: [
                "TestSupport", "PerspectiveBroker", "Banana",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: [
                "PBTestSupport", "PerspectiveBroker", "Banana", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
