import AccountStore
import TestSupport

@testable import PBAuthMaster

/// A master over a fresh database in `folder` with user alice (password "pw"), and fast scrypt.
enum TestMaster {
    static func make(in folder: TemporaryDirectory) throws -> (checker: MasterChecker, configuration: MasterConfiguration) {
        var configuration = MasterConfiguration()
        configuration.database = folder.file("master.sqlite")
        configuration.scryptLogN = 4
        let store = try AccountStore.createOrMigrate(databasePath: configuration.database, keyPath: configuration.resolvedKeyFile,
                                                     configuration: configuration.storeConfiguration)
        try store.addUser(name: "alice", password: Array("pw".utf8))
        store.close()
        return (try MasterChecker(configuration: configuration), configuration)
    }
}
