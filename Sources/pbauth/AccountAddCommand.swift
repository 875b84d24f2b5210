import AccountNames
import AccountStore
import ArgumentParser

/// `pbauth account add NAME (--password-stdin | --broker)`.
struct AccountAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a user (password from standard input or a prompt) or a broker principal (prints its token once).",
        discussion: "Names: 1 to 64 ASCII letters, digits, '.', '_', '-' or '@'."
    )

    @Argument(help: "The account's name.")
    var name: String

    @Flag(name: .long, help: "Add a broker principal; its token is printed as the last line, this once only.")
    var broker = false

    @Flag(name: .long, help: "Read the password from one line of standard input.")
    var passwordStdin = false

    @OptionGroup var options: DatabaseOptions

    func validate() throws {
        if broker && passwordStdin {
            throw ValidationError("a broker principal has a token, not a password: drop --password-stdin")
        }
    }

    func run() throws {
        if broker {
            try AdminAction.run(options, action: "account.add", account: name) { store in
                let token = try store.addBroker(name: name)
                print("added broker principal \(name); its token (shown only now, keep it in the subordinate's token file):")
                print(token)
                return "broker principal"
            }
        } else {
            try AdminAction.run(options, action: "account.add", account: name) { store in
                // Validate the name before asking for a password that would be thrown away.
                _ = try AccountName(name)
                let password = try PasswordInput.read(fromStandardInput: passwordStdin, account: name)
                try store.addUser(name: name, password: password)
                print("added user \(name)")
                return "user"
            }
        }
    }
}
