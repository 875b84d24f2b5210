import Foundation
import PackagePlugin

/// Compiles the package's `Migrations/` folder into the target as Swift source,
/// so that `pbauth migrate` carries its migrations inside the binary and works
/// from any working directory.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let folder = context.package.directoryURL.appendingPathComponent("Migrations")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let inputs = names.sorted().map { folder.appendingPathComponent($0) }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) migration files",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [folder.path, output.path],
                inputFiles: inputs + [folder],
                outputFiles: [output]
            )
        ]
    }
}
