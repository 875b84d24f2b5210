import AccountStore

extension MasterConfiguration {
    /// The store's settings that the master's configuration decides.
    var storeConfiguration: StoreConfiguration {
        StoreConfiguration(scrypt: ScryptParameters(logN: scryptLogN, r: scryptR, p: scryptP))
    }
}

extension LoginRecord {
    /// The record as the audit log keeps it; the actor of a login is the master itself.
    var auditEntry: AuditEntry {
        AuditEntry(time: time, actor: "master", action: action, account: account, outcome: outcome,
                   reason: reason, brokerPath: brokerPath, source: source)
    }
}
