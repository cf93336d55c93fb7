import Foundation
import HybridTrain
import Testing

/// Data-parallel training under Open MPI's mpirun: two ranks equal one process with both
/// ranks' data, and a failing or mismatched rank stops the job with a clear error.
@Suite(.serialized) struct DataParallelTests {
    /// All three bundled objectives (masked modeling scores a different number of bytes on
    /// each rank), 20 steps; a rank's batch is 4 windows and 8 images.
    static func write(_ dir: String) throws -> String {
        let text = """
        device: cpu
        model: {d_model: 32, layers: 2, heads: 2, seq_len: 32}
        data:
          text: ["\(CLI.root)/data/shakespeare/*.txt"]
          images: \(CLI.root)/data/digits.csv.gz
        objectives:
          - plugin: causal
          - plugin: masked
            weight: 0.5
          - plugin: denoise
            batch_size: 8
            config: {patch: 2, classes: 10}
        optimizer: {lr: 2.0e-3}
        schedule: {warmup_steps: 5}
        training: {steps: 20, batch_size: 4, seed: 7, eval_every: 10, eval_batches: 2, log_every: 1, output: \(dir)/run}
        """
        let path = dir + "/dp.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// 2 ranks × batch B and 1 process × batch 2B drawn as the two ranks' shards: the same
    /// losses at every step (1e-4 relative), the same parameters after the run (each tensor
    /// to 1e-4 in relative L2 norm), and the ranks bit-identical to each other. A 2-rank run
    /// stopped and resumed on 2 ranks matches the uninterrupted one bit for bit.
    @Test func twoRanksEqualOneProcessWithTheirShardsConcatenated() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.write(dir)
        let two = try CLI.mpi(2, ["train", recipe, "--sample-tokens", "0", "--set", "training.output=\(dir)/two"])
        #expect(two.status == 0, "\(two.all)")
        #expect(two.stdout.contains("B=4 per rank × 2 ranks = 8 per step"), "\(two.stdout)")
        #expect(two.stdout.contains("2 ranks hold identical parameters and optimizer state"), "\(two.stdout)")
        let one = try CLI.run(["train", recipe, "--sample-tokens", "0", "--set", "training.output=\(dir)/one", "--data-shards", "2",
                               "--set", "training.batch_size=8", "--set", "objectives[2].batch_size=16"])
        #expect(one.status == 0, "\(one.all)")
        let a = try ResumeTests.losses(dir + "/one"), b = try ResumeTests.losses(dir + "/two")
        #expect(a.count == 20 && b.count == 20, "\(a.count) and \(b.count) logged steps")
        for step in 1...20 {
            for (name, x) in a[step] ?? [:] {
                let y = try #require(b[step]?[name])
                #expect(abs(x - y) <= 1e-4 * abs(x), "step \(step) \(name): one process \(x), two ranks \(y)")
            }
        }
        // Stopped after 8 steps and resumed on two ranks again: bit-identical to the run that never stopped.
        let first = try CLI.mpi(2, ["train", recipe, "--sample-tokens", "0", "--set", "training.output=\(dir)/parts", "--stop-after", "8"])
        #expect(first.status == 0 && first.stdout.contains("stopped after step 8"), "\(first.all)")
        let second = try CLI.mpi(2, ["train", recipe, "--sample-tokens", "0", "--set", "training.output=\(dir)/parts", "--resume", "auto"])
        #expect(second.status == 0 && second.stdout.contains("after step 8"), "\(second.all)")
        let c = try ResumeTests.losses(dir + "/parts")
        for step in 1...20 { #expect(c[step] == b[step], "step \(step): resumed \(c[step] ?? [:]), uninterrupted \(b[step] ?? [:])") }
        let p = try Checkpoint.read(dir + "/one/checkpoint-000020.safetensors"), q = try Checkpoint.read(dir + "/two/checkpoint-000020.safetensors")
        #expect(p.tensors.keys.sorted() == q.tensors.keys.sorted())
        for name in p.tensors.keys where !name.hasPrefix("optimizer.") {
            let x = try #require(p.values(name)), y = try #require(q.values(name))
            let difference = zip(x, y).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            let norm = x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(difference <= 1e-4 * max(norm, 1e-12), "\(name): relative difference \(difference / norm)")
        }
    }

    /// The same on the Vulkan backend (lavapipe in CI): the gradients the all-reduce averages
    /// live in the device's mapped parameter memory. 6 steps.
    @Test func twoRanksOnVulkanEqualOneProcessOnVulkan() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.write(dir)
        let common = ["train", recipe, "--sample-tokens", "0", "--set", "device=vulkan", "--set", "training.steps=6"]
        let two = try CLI.mpi(2, common + ["--set", "training.output=\(dir)/two"])
        #expect(two.status == 0 && two.stdout.contains("2 ranks hold identical parameters"), "\(two.all)")
        let one = try CLI.run(common + ["--set", "training.output=\(dir)/one", "--data-shards", "2",
                                        "--set", "training.batch_size=8", "--set", "objectives[2].batch_size=16"])
        #expect(one.status == 0, "\(one.all)")
        let a = try ResumeTests.losses(dir + "/one"), b = try ResumeTests.losses(dir + "/two")
        #expect(a.count == 6 && b.count == 6, "\(a.count) and \(b.count) logged steps")
        for step in 1...6 {
            for (name, x) in a[step] ?? [:] {
                let y = try #require(b[step]?[name])
                #expect(abs(x - y) <= 1e-4 * abs(x), "step \(step) \(name): one process \(x), two ranks \(y)")
            }
        }
    }

    /// A one-process run resumed on two ranks: rank 1's shard starts its own stream, and the
    /// ranks finish the run together.
    @Test func aOneProcessRunResumesOnTwoRanks() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.write(dir)
        let first = try CLI.run(["train", recipe, "--sample-tokens", "0", "--stop-after", "5"])
        #expect(first.status == 0 && first.stdout.contains("stopped after step 5"), "\(first.all)")
        let rest = try CLI.mpi(2, ["train", recipe, "--sample-tokens", "0", "--resume", "auto"])
        #expect(rest.status == 0 && rest.stdout.contains("data shard 1 starts a fresh stream"), "\(rest.all)")
        #expect(rest.stdout.contains("checkpoint \(dir)/run/checkpoint-000020.safetensors (2 ranks hold identical parameters"), "\(rest.all)")
    }

    /// A rank whose recipe differs from rank 0's is refused before training, naming the key.
    @Test func aRankWithAnotherRecipeIsRefused() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.write(dir)
        let args = ["train", recipe, "--sample-tokens", "0"]
        let r = try CLI.run(Array(CLI.mpirun.dropFirst()) + ["-np", "1", CLI.executable] + args + [":", "-np", "1", CLI.executable] + args
                            + ["--set", "objectives[1].config.rate=0.3"], executable: CLI.mpirun[0])
        #expect(r.status != 0, "\(r.all)")
        #expect(r.all.contains("rank 1 cannot train with rank 0: its recipe differs from rank 0's at objectives[1].config.rate"), "\(r.all)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/run/metrics.jsonl"), "a refused run trained")
    }

    /// Ranks given other --stop-after values stop together after the earliest; ranks that
    /// would start from different steps (one resumes, one does not) are refused.
    @Test func ranksStopTogetherAndMustStartTogether() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.write(dir)
        let args = [CLI.executable, "train", recipe, "--sample-tokens", "0"]
        func mpmd(_ zero: [String], _ one: [String]) throws -> CLI.Result {
            try CLI.run(Array(CLI.mpirun.dropFirst()) + ["-np", "1"] + args + zero + [":", "-np", "1"] + args + one, executable: CLI.mpirun[0])
        }
        let stopped = try mpmd(["--stop-after", "7"], ["--stop-after", "3"])
        #expect(stopped.status == 0 && stopped.stdout.contains("stopped after step 3 with checkpoint \(dir)/run/checkpoint-000003.safetensors"), "\(stopped.all)")
        let apart = try mpmd(["--resume", "auto"], [])
        #expect(apart.status != 0 && apart.all.contains("the ranks start after different steps (rank 0: 3, rank 1: 0)"), "\(apart.all)")
    }

    /// A rank that loads another build of a plugin (same name and version, other bytes) is
    /// refused at start, naming the objective and both libraries' hashes.
    @Test func aRankWithAnotherPluginLibraryIsRefused() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.write(dir)
        let plugins = dir + "/other-plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        var library = try Data(contentsOf: URL(fileURLWithPath: CLI.buildFolder + "/libhybrid-objective-causal.so"))
        library.append(0)  // a loader ignores bytes past the ELF sections: the same plugin, another file
        try library.write(to: URL(fileURLWithPath: plugins + "/libhybrid-objective-causal.so"))
        let args = ["train", recipe, "--sample-tokens", "0"]
        let r = try CLI.run(Array(CLI.mpirun.dropFirst()) + ["-np", "1", CLI.executable] + args
                            + [":", "-np", "1", "/usr/bin/env", "HYBRID_PLUGIN_PATH=\(plugins)", CLI.executable] + args, executable: CLI.mpirun[0])
        #expect(r.status != 0, "\(r.all)")
        #expect(r.all.contains("rank 1 cannot train with rank 0: objectives[0] plugin is causal"), "\(r.all)")
        #expect(!r.all.contains("objectives[1] plugin"), "only the causal library differs: \(r.all)")
    }

    /// Ranks whose recipes name the same relative paths, which hold other text on one of
    /// them (another host's copy): refused, naming the data.
    @Test func aRankThatReadsOtherDataIsRefused() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var recipes: [String] = []
        for host in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(host)/plays", withIntermediateDirectories: true)
            let text = try String(contentsOfFile: CLI.root + "/data/shakespeare/lear.txt", encoding: .utf8)
            try (host == "a" ? text : text + "one more line\n").write(toFile: "\(dir)/\(host)/plays/play.txt", atomically: true, encoding: .utf8)
            let recipe = try CLI.tinyRecipe(in: "\(dir)/\(host)")
            let yaml = try String(contentsOfFile: recipe, encoding: .utf8)
                .replacingOccurrences(of: "\(CLI.root)/data/shakespeare/*.txt", with: "plays/*.txt")
                .replacingOccurrences(of: "output: \(dir)/\(host)/run", with: "output: \(dir)/run")
            try yaml.write(toFile: recipe, atomically: true, encoding: .utf8)
            recipes.append(recipe)
        }
        let r = try CLI.run(Array(CLI.mpirun.dropFirst()) + ["-np", "1", CLI.executable, "train", recipes[0], "--sample-tokens", "0",
                                                            ":", "-np", "1", CLI.executable, "train", recipes[1], "--sample-tokens", "0"],
                            executable: CLI.mpirun[0])
        #expect(r.status != 0 && r.all.contains("rank 1 cannot train with rank 0: the data is 1 text files"), "\(r.all)")
    }

    /// The binary links no MPI: without mpirun it never opens libmpi; under mpirun without a
    /// usable libmpi it says what to install.
    @Test func theBinaryNeedsNoMPIUnlessMpirunStartedIt() throws {
        let text = try CLI.dynamicSection()
        #expect(text.contains("NEEDED") && !text.contains("libmpi"), "\(text)")
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try CLI.tinyRecipe(in: dir)
        let missing = ["HYBRID_MPI_LIBRARY": dir + "/libmpi.so.40"]
        let alone = try CLI.run(["train", recipe, "--sample-tokens", "0", "--set", "training.steps=3"], environment: missing)
        #expect(alone.status == 0, "\(alone.all)")
        let launched = try CLI.run(["train", recipe, "--sample-tokens", "0", "--set", "training.steps=3"],
                                   environment: missing.merging(["OMPI_COMM_WORLD_SIZE": "2"]) { $1 })
        #expect(launched.status != 0 && launched.stderr.contains("cannot open the MPI library \(dir)/libmpi.so.40")
                && launched.stderr.contains("openmpi-bin"), "\(launched.all)")
    }

    /// A rank that hangs (SIGSTOP) makes rank 0 give up after HYBRID_MPI_TIMEOUT with a clear
    /// error; a rank killed outright makes mpirun end the job. Either way the last checkpoint
    /// stays intact, and it resumes on one process (another number of ranks).
    @Test(.serialized, arguments: ["STOP", "KILL"]) func aFailedRankStopsTheJobAndTheCheckpointSurvives(_ signal: String) throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.write(dir)
        let launcher = Process()
        launcher.executableURL = URL(fileURLWithPath: CLI.mpirun[0])
        launcher.arguments = Array(CLI.mpirun.dropFirst()) + ["-x", "HYBRID_MPI_TIMEOUT=5", "-np", "2", CLI.executable, "train", recipe,
                                                             "--sample-tokens", "0", "--set", "training.steps=100000", "--set", "checkpoint.every=5"]
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: { _ = FileManager.default.createFile(atPath: dir + "/log", contents: nil); return dir + "/log" }()))
        launcher.standardOutput = output
        launcher.standardError = output
        try launcher.run()
        let checkpoint = dir + "/run/checkpoint-000010.safetensors"
        let started = Date()
        while !FileManager.default.fileExists(atPath: checkpoint), Date().timeIntervalSince(started) < 300, launcher.isRunning {
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(FileManager.default.fileExists(atPath: checkpoint), "no checkpoint after step 10")
        let victim = try #require(try Self.rank(1, running: recipe), "rank 1 is not running")
        let signalled = Date()
        kill(victim, signal == "STOP" ? SIGSTOP : SIGKILL)
        while launcher.isRunning, Date().timeIntervalSince(signalled) < 60 { Thread.sleep(forTimeInterval: 0.2) }
        let seconds = Date().timeIntervalSince(signalled)
        if launcher.isRunning { launcher.terminate() }
        launcher.waitUntilExit()
        try output.close()
        let log = try String(contentsOfFile: dir + "/log", encoding: .utf8)
        #expect(seconds < 60 && launcher.terminationStatus != 0, "the job ran on \(seconds) s after rank 1 was stopped: \(log)")
        if signal == "STOP" {
            #expect(log.contains("did not complete within 5 s (HYBRID_MPI_TIMEOUT): another rank has stopped or hangs"), "\(log)")
        } else {
            #expect(log.contains("rank 1") && log.contains("signal 9"), "\(log)")
        }
        // The newest checkpoint is whole: one process resumes from it.
        let newest = try FileManager.default.contentsOfDirectory(atPath: dir + "/run").filter { $0.hasPrefix("checkpoint-") }.sorted().last!
        let resumed = try CLI.run(["train", recipe, "--sample-tokens", "0", "--set", "training.steps=100000", "--resume", "auto", "--stop-after", "1"])
        #expect(resumed.status == 0 && resumed.stdout.contains("resuming \(dir)/run/\(newest)"), "\(resumed.all)")
        #expect(resumed.stdout.contains("not drawn by this run: data shard 1"), "\(resumed.stdout)")
    }

    /// SIGTERM to one rank (a preemption): its stop request reaches every rank through the
    /// step's all-reduce, they stop after the same step, and rank 0 writes that checkpoint.
    @Test func sigtermToOneRankStopsEveryRankWithACheckpoint() throws {
        let dir = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recipe = try Self.write(dir)
        let launcher = Process()
        launcher.executableURL = URL(fileURLWithPath: CLI.mpirun[0])
        launcher.arguments = Array(CLI.mpirun.dropFirst()) + ["-np", "2", CLI.executable, "train", recipe, "--sample-tokens", "0",
                                                             "--set", "training.steps=100000", "--set", "training.eval_every=100000"]
        let out = Pipe()
        launcher.standardOutput = out
        launcher.standardError = out
        try launcher.run()
        // A run that never stops must not hold the suite up.
        DispatchQueue.global().asyncAfter(deadline: .now() + 180) { if launcher.isRunning { launcher.terminate() } }
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains(" 3/100000") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        let victim = try #require(try Self.rank(1, running: recipe), "rank 1 is not running")
        kill(victim, SIGTERM)
        seen.append(out.fileHandleForReading.readDataToEndOfFile())
        launcher.waitUntilExit()
        let log = String(decoding: seen, as: UTF8.self)
        let stopped = try #require(log.components(separatedBy: "stopped after step ").dropFirst().first?.prefix { $0.isNumber }, "\(log)")
        let checkpoint = "\(dir)/run/checkpoint-\(String(repeating: "0", count: 6 - stopped.count) + stopped).safetensors"
        #expect(FileManager.default.fileExists(atPath: checkpoint), "\(log)")
        #expect(log.contains("checkpoint \(checkpoint) (2 ranks hold identical parameters"), "\(log)")
    }

    /// The pid of the hybrid process training `recipe` whose Open MPI rank is `rank`.
    static func rank(_ rank: Int, running recipe: String) throws -> pid_t? {
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = pid_t(entry),
                  let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/exe"),
                  URL(fileURLWithPath: exe).lastPathComponent == "hybrid",
                  let arguments = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  arguments.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == recipe }),
                  let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            if environ.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }) { return pid }
        }
        return nil
    }
}

