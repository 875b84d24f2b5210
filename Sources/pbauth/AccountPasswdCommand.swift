import AccountStore
import ArgumentParser

/// `pbauth account passwd NAME [--password-stdin]`.
struct AccountPasswdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Set a user's password (from standard input or a prompt); revokes its sessions."
    )

    @Argument(help: "The user's name.")
    var name: String

    @Flag(name: .long, help: "Read the password from one line of standard input.")
    var passwordStdin = false

    @OptionGroup var options: DatabaseOptions

    func run() throws {
        try AdminAction.run(options, action: "account.passwd", account: name) { store in
            guard let account = try store.account(named: name) else { throw StoreError.noSuchAccount(name) }
            guard account.kind == .user else { throw StoreError.wrongKind(name: name, expected: .user) }
            let password = try PasswordInput.read(fromStandardInput: passwordStdin, account: name)
            try store.setPassword(name: name, password: password)
            print("set the password of \(name) and revoked its sessions")
            return nil
        }
    }
}
