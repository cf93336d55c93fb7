// Square images cut into square patches, in the reference's layout: an image (S, S) is viewed
// as (n, p, n, p), permuted to (n, n, p, p) and read as (P, F) — patches row-major over the
// image, values row-major inside a patch.
// N images, S image side, p patch side, n = S/p patches a row, P = n² patches, F = p² values.

public struct PatchGrid: Sendable, Equatable {
    /// S.
    public let side: Int
    /// p.
    public let patch: Int

    /// nil unless side and patch are positive and patch divides side.
    public init?(side: Int, patch: Int) {
        guard side > 0, patch > 0, side % patch == 0 else { return nil }
        self.side = side
        self.patch = patch
    }

    /// n.
    public var perRow: Int { side / patch }
    /// P.
    public var count: Int { perRow * perRow }
    /// F.
    public var values: Int { patch * patch }

    /// images [N, S, S] → patches [N, leading + P, F], each image's patches after `leading`
    /// rows that are left as they are (e.g. a label token in front of the image).
    public func patchify(_ images: UnsafePointer<Float>, into patches: UnsafeMutablePointer<Float>, images N: Int = 1,
                         leading: Int = 0) {
        let S = side, p = patch, n = perRow
        for b in 0..<N {
            let image = images + b * S * S, out = patches + (b * (leading + count) + leading) * p * p
            for i in 0..<n {
                for j in 0..<n {
                    let cell = out + (i * n + j) * p * p, corner = image + i * p * S + j * p
                    for u in 0..<p {
                        for v in 0..<p { cell[u * p + v] = corner[u * S + v] }
                    }
                }
            }
        }
    }

    /// patches [N, leading + P, F] → images [N, S, S]; undoes `patchify`.
    public func unpatchify(_ patches: UnsafePointer<Float>, into images: UnsafeMutablePointer<Float>, images N: Int = 1,
                           leading: Int = 0) {
        let S = side, p = patch, n = perRow
        for b in 0..<N {
            let source = patches + (b * (leading + count) + leading) * p * p, image = images + b * S * S
            for i in 0..<n {
                for j in 0..<n {
                    let cell = source + (i * n + j) * p * p, corner = image + i * p * S + j * p
                    for u in 0..<p {
                        for v in 0..<p { corner[u * S + v] = cell[u * p + v] }
                    }
                }
            }
        }
    }
}
