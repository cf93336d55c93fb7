// Square images cut into square patches, in the reference's layout: an image (S, S, K) is
// viewed as (n, p, n, p, K), permuted to (n, n, p, p, K) and read as (P, F) — patches row-major
// over the image, values row-major inside a patch, channels interleaved.
// N images, S image side, K channels, p patch side, n = S/p patches a row, P = n² patches,
// F = p²·K values a patch.

public struct PatchGrid: Sendable, Equatable {
    /// S.
    public let side: Int
    /// p.
    public let patch: Int
    /// K (1 grey, 3 RGB).
    public let channels: Int

    /// nil unless side, patch and channels are positive and patch divides side.
    public init?(side: Int, patch: Int, channels: Int = 1) {
        guard side > 0, patch > 0, channels > 0, side % patch == 0 else { return nil }
        self.side = side
        self.patch = patch
        self.channels = channels
    }

    /// n.
    public var perRow: Int { side / patch }
    /// P.
    public var count: Int { perRow * perRow }
    /// F.
    public var values: Int { patch * patch * channels }
    /// S·S·K: the values of one image.
    public var imageValues: Int { side * side * channels }

    /// images [N, S, S, K] → patches [N, leading + P, F], each image's patches after `leading`
    /// rows that are left as they are (e.g. a label token in front of the image).
    public func patchify(_ images: UnsafePointer<Float>, into patches: UnsafeMutablePointer<Float>, images N: Int = 1,
                         leading: Int = 0) {
        let S = side, p = patch, n = perRow, K = channels, F = values
        for b in 0..<N {
            let image = images + b * imageValues, out = patches + (b * (leading + count) + leading) * F
            for i in 0..<n {
                for j in 0..<n {
                    let cell = out + (i * n + j) * F, corner = image + (i * p * S + j * p) * K
                    for u in 0..<p {
                        (cell + u * p * K).update(from: corner + u * S * K, count: p * K)
                    }
                }
            }
        }
    }

    /// patches [N, leading + P, F] → images [N, S, S, K]; undoes `patchify`.
    public func unpatchify(_ patches: UnsafePointer<Float>, into images: UnsafeMutablePointer<Float>, images N: Int = 1,
                           leading: Int = 0) {
        let S = side, p = patch, n = perRow, K = channels, F = values
        for b in 0..<N {
            let source = patches + (b * (leading + count) + leading) * F, image = images + b * imageValues
            for i in 0..<n {
                for j in 0..<n {
                    let cell = source + (i * n + j) * F, corner = image + (i * p * S + j * p) * K
                    for u in 0..<p {
                        (corner + u * S * K).update(from: cell + u * p * K, count: p * K)
                    }
                }
            }
        }
    }
}
