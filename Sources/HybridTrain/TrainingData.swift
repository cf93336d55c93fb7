import Foundation
import HybridRecipe

/// What a run trains and validates on: text split into train and held-out bytes, and images
/// split the same way; each objective reads the kind its plugin declares.
public struct TrainingData {
    public var text: TextCorpus?
    public var images: (train: ImageSet, validation: ImageSet)?

    public init(text: TextCorpus?, images: (train: ImageSet, validation: ImageSet)?) {
        self.text = text
        self.images = images
    }

    /// Reads what a recipe's `data:` names.
    public static func load(_ data: DataConfig) throws -> TrainingData {
        // The decimal the recipe wrote (0.1), not its nearest Float (0.100000001…), so that
        // 1,500 images split 1,350 / 150.
        let fraction = Double("\(data.validationFraction)") ?? Double(data.validationFraction)
        let text = data.textFiles.isEmpty ? nil : try TextCorpus(files: data.textFiles, validationFraction: fraction)
        let images = try data.images.map { path -> (train: ImageSet, validation: ImageSet) in
            let set = try loadImages(path.absolute, data)
            let parts = set.split(validationFraction: fraction)
            guard parts.train.count > 0, parts.validation.count > 0 else {
                throw TrainError("data.images: \(path.absolute) holds \(set.count) image\(set.count == 1 ? "" : "s"): \(parts.train.count) to train on and "
                                 + "\(parts.validation.count) held out (data.validation_fraction \(data.validationFraction)); each part needs at least one")
            }
            return parts
        }
        return TrainingData(text: text, images: images)
    }

    /// Reads an image folder (`ImageFolder`) or a digits file (`ImageSet.load`) as `data:`
    /// says images are read: its size, channels, resizing and columns.
    public static func loadImages(_ path: String, _ data: DataConfig) throws -> ImageSet {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
            ? try ImageFolder.load(path, ImageFolder.Options(side: data.imageSize, channels: data.imageChannels, resize: data.resize,
                                                             captionColumn: data.captionColumn, labelColumn: data.labelColumn))
            : try ImageSet.load(path: path, side: data.imageSize)
    }

    /// One line for the run log.
    public var summary: String {
        var parts: [String] = []
        if let text {
            parts.append("\(text.files.count) text files, \(text.train.count.formatted()) train / \(text.validation.count.formatted()) validation bytes")
        }
        if let images {
            parts.append("\(images.train.count.formatted()) train / \(images.validation.count.formatted()) validation images")
        }
        return parts.joined(separator: "; ")
    }

    /// One side of the split.
    public enum Part { case train, validation }
}
