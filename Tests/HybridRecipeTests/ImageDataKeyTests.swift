import Foundation
import HybridRecipe
import Testing

/// `data.images` names a CSV or a folder of PNG files, with the keys that say how a folder's
/// images are read: checked at the node like every key, and written back into stored recipes.
@Suite struct ImageDataKeyTests {
    static let folderRecipe = minimalRecipe(replacing: "  text: [corpus/*.txt]", with: """
          text: [corpus/*.txt]
          images: glyphs
          image_size: 32
          image_channels: 3
          resize: true
          caption_column: caption
          label_column: char
        """)

    @Test func aFolderAndItsKeysRead() throws {
        let scratch = Scratch()
        scratch.write("glyphs/a.png", "not checked here: the loader reads the folder")
        let data = try scratch.load(Self.folderRecipe).data
        #expect(data.images?.written == "glyphs" && data.images?.absolute == scratch.folder + "/glyphs")
        #expect(data.imageSize == 32 && data.imageChannels == 3 && data.resize && data.captionColumn == "caption" && data.labelColumn == "char")
        let defaults = try scratch.load(minimalRecipe).data
        #expect(defaults.imageSize == 8 && defaults.imageChannels == 1 && !defaults.resize && defaults.captionColumn == "text"
                && defaults.labelColumn == nil)
    }

    @Test func theKeysSurviveTheStoredRecipe() throws {
        let scratch = Scratch()
        scratch.write("glyphs/a.png", "x")
        let recipe = try scratch.load(Self.folderRecipe)
        let again = try scratch.load(recipe.yamlText())
        #expect(again.data == recipe.data)
    }

    @Test(arguments: [
        ("  image_channels: 3", "  image_channels: 2", "r.yaml:10:19: data.image_channels: expected 1 (grey) or 3 (RGB), found \"2\""),
        ("  image_size: 32", "  image_size: 0", "r.yaml:9:15: data.image_size: expected an image side in 1...1024, found \"0\""),
        ("  resize: true", "  resize: maybe", "r.yaml:11:11: data.resize: expected true or false, found \"maybe\""),
        ("  images: glyphs", "  images: nowhere", "r.yaml:8:11: data.images: no such file or folder"),
    ])
    func badValuesAreNamedAtTheirNode(_ line: String, _ replacement: String, _ message: String) {
        let scratch = Scratch()
        scratch.write("glyphs/a.png", "x")
        let text = Self.folderRecipe.replacingOccurrences(of: line, with: replacement)
        let got = scratch.message(text)
        #expect(got.hasPrefix(message), "\(got)")
    }
}
