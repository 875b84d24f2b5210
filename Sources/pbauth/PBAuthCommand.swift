import ArgumentParser

@main
struct PBAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pbauth",
        abstract: "Central authentication for Perspective Broker brokers."
    )
}
