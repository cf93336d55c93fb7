// Cutting images into patches: the reference's (S, S) → (n, p, n, p) → (n, n, p, p) → (P, F).
import HybridTestSupport
import PluginSupport
import Testing

@Suite("Patches")
struct PatchesTests {
    @Test("a 4×4 image in 2×2 patches, pixel by pixel")
    func layout() {
        let grid = PatchGrid(side: 4, patch: 2)!
        #expect(grid.perRow == 2 && grid.count == 4 && grid.values == 4)
        let image = (0..<16).map(Float.init)   // pixel (r, c) holds 4r + c
        var patches = [Float](repeating: 0, count: 16)
        grid.patchify(image, into: &patches)
        #expect(patches == [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15])
    }

    @Test("unpatchify undoes patchify", arguments: [(8, 1), (8, 2), (8, 4), (8, 8), (6, 3)])
    func roundTrip(side: Int, patch: Int) {
        let grid = PatchGrid(side: side, patch: patch)!
        let N = 3, count = N * side * side
        var rng = SeededRNG(seed: UInt64(side * 10 + patch))
        let images = rng.uniform(count: count)
        var patches = [Float](repeating: 0, count: count), back = patches
        grid.patchify(images, into: &patches, images: N)
        grid.unpatchify(patches, into: &back, images: N)
        #expect(back == images)
        // Patch k of image b is its own block: row-major patches, row-major values.
        let n = side / patch, b = N - 1, k = grid.count - 1, (i, j) = (k / n, k % n)
        for u in 0..<patch {
            for v in 0..<patch {
                let pixel = images[b * side * side + (i * patch + u) * side + j * patch + v]
                #expect(patches[(b * grid.count + k) * grid.values + u * patch + v] == pixel)
            }
        }
    }

    @Test("leading rows (a label token) are skipped and left as they are")
    func leadingRows() {
        let grid = PatchGrid(side: 4, patch: 2)!
        let images = (0..<32).map(Float.init)   // two 4×4 images
        var patches = [Float](repeating: -7, count: 2 * 5 * 4), back = [Float](repeating: 0, count: 32)
        grid.patchify(images, into: &patches, images: 2, leading: 1)
        #expect(Array(patches[0..<4]) == [-7, -7, -7, -7] && Array(patches[20..<24]) == [-7, -7, -7, -7])
        #expect(Array(patches[4..<8]) == [0, 1, 4, 5] && Array(patches[24..<28]) == [16, 17, 20, 21])
        grid.unpatchify(patches, into: &back, images: 2, leading: 1)
        #expect(back == images)
    }

    @Test("RGB: a patch holds its pixels' channels interleaved, and unpatchify undoes it")
    func channels() {
        let grid = PatchGrid(side: 4, patch: 2, channels: 3)!
        #expect(grid.values == 12 && grid.imageValues == 48)
        let image = (0..<48).map(Float.init)   // pixel (r, c) channel k holds 3(4r + c) + k
        var patches = [Float](repeating: 0, count: 48), back = patches
        grid.patchify(image, into: &patches)
        // Patch 1 (top right) holds pixels (0,2), (0,3), (1,2), (1,3), each as r, g, b.
        #expect(Array(patches[12..<24]) == [6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23])
        grid.unpatchify(patches, into: &back)
        #expect(back == image)
    }

    @Test("a patch side that does not divide the image is refused")
    func refusal() {
        #expect(PatchGrid(side: 8, patch: 3) == nil)
        #expect(PatchGrid(side: 8, patch: 0) == nil)
        #expect(PatchGrid(side: 0, patch: 2) == nil)
        #expect(PatchGrid(side: 8, patch: 2, channels: 0) == nil)
    }
}
