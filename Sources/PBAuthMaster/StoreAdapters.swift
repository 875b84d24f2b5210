import AccountNames
import PBAuthProtocol
import AccountStore

extension MasterConfiguration {
    /// The store's settings that the master's configuration decides.
    var storeConfiguration: StoreConfiguration {
        StoreConfiguration(scrypt: ScryptParameters(logN: scryptLogN, r: scryptR, p: scryptP),
                           walAutocheckpointPages: walAutocheckpoint)
    }
}

extension LoginRecord {
    /// The record as the audit log keeps it; the actor of a login is the master itself.
    var auditEntry: AuditEntry {
        // A name that came off the network is recorded only when it is a valid
        // account name, so that nothing odd (control characters) reaches the log.
        AuditEntry(time: time, actor: "master", action: action, account: AccountName.recordable(account), outcome: outcome,
                   reason: reason, brokerPath: brokerPath, source: source)
    }
}
