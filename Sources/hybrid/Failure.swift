import ArgumentParser
import Foundation
import HybridPlugins
import HybridRecipe

/// Every error a command can hit, printed as its message alone (recipe errors one per line
/// with file:line:column), with a non-zero exit.
func reportingFailures<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as RecipeErrors {
        for line in error.lines { printError("error: \(line)") }
        throw ExitCode(65)
    } catch let error as PluginError {
        printError("error: \(error)")
        throw ExitCode(66)
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes a line to standard output unbuffered, so it interleaves correctly with the
/// trainer's progress lines and streamed samples.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
