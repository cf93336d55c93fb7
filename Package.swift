// swift-tools-version: 6.3
import PackageDescription

let package = Package(
    name: "hybrid",
    products: [
        .executable(name: "hybrid", targets: ["hybrid"]),
        .library(name: "hybrid-objective-causal", type: .dynamic, targets: ["CausalObjective"]),
        .library(name: "hybrid-objective-masked", type: .dynamic, targets: ["MaskedObjective"]),
        .library(name: "hybrid-objective-denoise", type: .dynamic, targets: ["DenoiseObjective"]),
        .library(name: "hybrid-objective-distill", type: .dynamic, targets: ["DistillObjective"]),
        .library(name: "hybrid-objective-mdlm", type: .dynamic, targets: ["MDLMObjective"]),
        .library(name: "hybrid-objective-shortcut", type: .dynamic, targets: ["ShortcutObjective"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C modules: the plugin ABI and the system libraries.
        .target(name: "CHybridPlugin"),
        .target(name: "CReadableMemory"),
        // Element-wise kernels built for each x86-64 vector width, picked at load.
        .target(name: "CVectorMath"),
        // PNG decoding over libpng, whose longjmp errors stay inside this C target.
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16")]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // Vulkan's headers only: the loader is opened at run time (see HybridVulkan).
        .systemLibrary(name: "CVulkan", providers: [.apt(["libvulkan-dev"])]),

        // The runtime.
        .target(name: "HybridCore"),
        .target(name: "HybridCPU", dependencies: ["HybridCore", "COpenBLAS", "CVectorMath"]),
        .target(name: "HybridVulkan", dependencies: ["HybridCore", "CVulkan"], exclude: ["Shaders"]),
        .target(name: "HybridNN", dependencies: ["HybridCore"]),
        .target(name: "HybridRecipe", dependencies: ["CYAML"]),
        .target(name: "HybridPlugins", dependencies: ["HybridCore", "HybridNN", "HybridRecipe", "CHybridPlugin", "CReadableMemory"]),
        .target(name: "HybridTrain", dependencies: ["HybridCore", "HybridCPU", "HybridNN", "HybridRecipe", "HybridPlugins", "CZlib", "CPNG"]),
        // Evaluation and pictures: Fréchet distance, the digit classifier, image quality,
        // nearest images, PNG writing, the bitmap font and the loss plot.
        .target(name: "HybridEval", dependencies: ["HybridCore", "HybridCPU", "HybridNN", "HybridTrain", "COpenBLAS", "CZlib"]),
        // Open MPI, opened at run time (the binary needs no MPI unless mpirun starts it).
        .target(name: "HybridMPI", dependencies: ["HybridCore"]),
        // One run assembled from a recipe or a checkpoint (job, backend, model, data, trainer)
        // and what the commands do with it: train, distil, evaluate, sample, benchmark.
        .target(name: "HybridRun", dependencies: ["HybridCore", "HybridCPU", "HybridVulkan", "HybridNN", "HybridRecipe", "HybridPlugins",
                                                  "HybridTrain", "HybridEval", "HybridMPI"]),
        .executableTarget(name: "hybrid", dependencies: [
            "HybridTrain", "HybridEval", "HybridRun", "HybridRecipe", "HybridPlugins", "CHybridPlugin",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Objective plugins: dynamic libraries that see only the C header.
        .target(name: "PluginSupport", dependencies: ["CHybridPlugin"], path: "Plugins/PluginSupport"),
        .target(name: "CausalObjective", dependencies: ["CHybridPlugin", "PluginSupport"], path: "Plugins/CausalObjective"),
        .target(name: "MaskedObjective", dependencies: ["CHybridPlugin", "PluginSupport"], path: "Plugins/MaskedObjective"),
        .target(name: "DenoiseObjective", dependencies: ["CHybridPlugin", "PluginSupport"], path: "Plugins/DenoiseObjective"),
        .target(name: "DistillObjective", dependencies: ["CHybridPlugin", "PluginSupport"], path: "Plugins/DistillObjective"),
        .target(name: "MDLMObjective", dependencies: ["CHybridPlugin", "PluginSupport"], path: "Plugins/MDLMObjective"),
        .target(name: "ShortcutObjective", dependencies: ["CHybridPlugin", "PluginSupport"], path: "Plugins/ShortcutObjective"),

        // Tests.
        .target(name: "HybridTestSupport", path: "Tests/HybridTestSupport"),
        .testTarget(name: "HybridCPUTests", dependencies: ["HybridCPU", "HybridTestSupport"]),
        .testTarget(name: "HybridVulkanTests", dependencies: ["HybridVulkan", "HybridCPU", "HybridNN", "HybridTestSupport"]),
        .testTarget(name: "HybridRecipeTests", dependencies: ["HybridRecipe", "HybridTestSupport"]),
        .testTarget(name: "HybridNNTests", dependencies: ["HybridNN", "HybridCPU", "HybridTestSupport"]),
        .testTarget(name: "HybridTrainTests", dependencies: ["HybridTrain", "HybridCPU", "HybridTestSupport"]),
        .testTarget(name: "HybridEvalTests", dependencies: ["HybridEval", "HybridTrain", "HybridCPU", "HybridTestSupport", "CZlib"]),
        .testTarget(name: "HybridCLITests", dependencies: ["HybridTestSupport", "HybridTrain", "HybridEval", "HybridCPU", "HybridNN", "HybridCore"]),
        .testTarget(name: "PluginSupportTests", dependencies: ["PluginSupport", "HybridTestSupport"]),
        .testTarget(name: "HybridPluginsTests", dependencies: ["HybridPlugins", "HybridTestSupport"]),
    ]
)
