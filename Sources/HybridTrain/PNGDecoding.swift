import CPNG

/// One PNG file decoded by libpng (Sources/CPNG): its size, its channels as the file has them
/// (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA; palettes become RGB) and every sample scaled to
/// 0...1 by the file's bit depth (255 or 65535).
///
/// Shapes: H height, W width, K channels; `samples` [H, W, K] row-major, channels interleaved.
struct DecodedPNG {
    let width: Int
    let height: Int
    let channels: Int
    let bitDepth: Int
    let samples: [Float]

    /// Decodes `bytes`, read from `path` (named in every error). A header of more than
    /// `maxPixels` pixels is refused before any pixel memory is allocated.
    static func decode(_ bytes: [UInt8], path: String, maxPixels: Int) throws -> DecodedPNG {
        var image = hybrid_png_image()
        var error = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { data in
            hybrid_png_decode(data.baseAddress, data.count, UInt64(max(maxPixels, 0)), &image, &error, error.count)
        }
        guard status == 0 else {
            let text = error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw TrainError("\(path): \(text)")
        }
        defer { hybrid_png_free(&image) }
        let (w, h, k) = (Int(image.width), Int(image.height), Int(image.channels))
        let n = w * h * k
        var samples = [Float](repeating: 0, count: n)
        samples.withUnsafeMutableBufferPointer { out in
            if image.bit_depth == 16 {
                let p = image.pixels.assumingMemoryBound(to: UInt16.self)
                for i in 0..<n { out[i] = Float(p[i]) / 65535 }
            } else {
                let p = image.pixels.assumingMemoryBound(to: UInt8.self)
                for i in 0..<n { out[i] = Float(p[i]) / 255 }
            }
        }
        return DecodedPNG(width: w, height: h, channels: k, bitDepth: Int(image.bit_depth), samples: samples)
    }

    /// This image as `channels` (1 or 3) planes of `side`×`side`, in 0...1, shape [side, side,
    /// channels]. Alpha is composited onto black (glyphs drawn on a transparent page come out
    /// white on black); RGB becomes grey by Rec. 601 luma (0.299, 0.587, 0.114); grey becomes
    /// RGB by repeating it. A non-square image is centre-cropped to a square first; then the
    /// square is resampled to `side` by area averaging (shrinking) or bilinear interpolation
    /// (growing).
    func converted(side: Int, channels out: Int) -> [Float] {
        precondition(out == 1 || out == 3, "images have 1 or 3 channels")
        let colour = channels >= 3, alpha = channels == 2 || channels == 4
        // The colour planes after alpha, [H, W, out].
        var planes = [Float](repeating: 0, count: width * height * out)
        for i in 0..<(width * height) {
            let s = i * channels
            let a = alpha ? samples[s + channels - 1] : 1
            let r = samples[s], g = colour ? samples[s + 1] : r, b = colour ? samples[s + 2] : r
            if out == 1 {
                planes[i] = (colour ? 0.299 * r + 0.587 * g + 0.114 * b : r) * a
            } else {
                planes[3 * i] = r * a
                planes[3 * i + 1] = g * a
                planes[3 * i + 2] = b * a
            }
        }
        let square = min(width, height), x0 = (width - square) / 2, y0 = (height - square) / 2
        var result = [Float](repeating: 0, count: side * side * out)
        let scale = Double(square) / Double(side)
        for y in 0..<side {
            for x in 0..<side {
                for c in 0..<out {
                    let v: Double
                    if scale >= 1 {
                        // The mean over the source pixels this output pixel covers (edges weighted by overlap).
                        let sx0 = Double(x) * scale, sx1 = sx0 + scale, sy0 = Double(y) * scale, sy1 = sy0 + scale
                        var total = 0.0, weight = 0.0
                        for sy in Int(sy0)..<min(square, Int(sy1.rounded(.up))) {
                            let wy = min(sy1, Double(sy + 1)) - max(sy0, Double(sy))
                            for sx in Int(sx0)..<min(square, Int(sx1.rounded(.up))) {
                                let wx = min(sx1, Double(sx + 1)) - max(sx0, Double(sx))
                                total += wx * wy * Double(planes[((y0 + sy) * width + x0 + sx) * out + c])
                                weight += wx * wy
                            }
                        }
                        v = total / weight
                    } else {
                        let fx = max(0, (Double(x) + 0.5) * scale - 0.5), fy = max(0, (Double(y) + 0.5) * scale - 0.5)
                        let ix = min(Int(fx), square - 1), iy = min(Int(fy), square - 1)
                        let jx = min(ix + 1, square - 1), jy = min(iy + 1, square - 1)
                        let tx = fx - Double(ix), ty = fy - Double(iy)
                        func at(_ px: Int, _ py: Int) -> Double { Double(planes[((y0 + py) * width + x0 + px) * out + c]) }
                        v = (1 - ty) * ((1 - tx) * at(ix, iy) + tx * at(jx, iy)) + ty * ((1 - tx) * at(ix, jy) + tx * at(jx, jy))
                    }
                    result[(y * side + x) * out + c] = Float(v)
                }
            }
        }
        return result
    }
}
