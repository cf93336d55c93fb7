import HybridTrain
import CZlib
import Foundation

/// 8-bit grey and RGB PNG files, for looking at images a model makes.
///
/// Shapes: N images, S side, K channels (1 or 3), P = S*S*K values an image, W×H the picture.
public enum PNG {
    /// Writes `images` [N, S, S, K], values in [-1, 1], as one picture: a grid of `columns` cells a
    /// row (fewer when N is smaller), each image enlarged `scale`×, with a 1-pixel mid-grey gap
    /// between cells, which also fills the unused cells of the last row. Values are clamped to
    /// [-1, 1] (NaN draws as -1) and mapped to 0...255. The file is replaced atomically.
    public static func grid(images: [Float], side: Int, channels K: Int = 1, columns: Int, scale: Int, to path: String) throws {
        let area = side * side * K
        precondition(side > 0 && columns > 0 && scale > 0, "side, columns and scale must be positive")
        precondition(K == 1 || K == 3, "a grid is grey or RGB, not \(K) channels")
        precondition(!images.isEmpty && images.count % area == 0,
                     "\(images.count) values are not a whole, positive number of \(side)x\(side)x\(K) images")
        let n = images.count / area
        let cols = min(columns, n), rows = (n + cols - 1) / cols
        let cell = side * scale, step = cell + 1
        let width = cols * step - 1, height = rows * step - 1
        var picture = [UInt8](repeating: 128, count: width * height * K)
        images.withUnsafeBufferPointer { src in
            picture.withUnsafeMutableBufferPointer { out in
                for i in 0..<n {
                    let x0 = (i % cols) * step, y0 = (i / cols) * step
                    for py in 0..<side {
                        for px in 0..<side {
                            for k in 0..<K {
                                let level = Self.level(src[i * area + (py * side + px) * K + k])
                                for dy in 0..<scale {
                                    let row = ((y0 + py * scale + dy) * width + x0 + px * scale) * K + k
                                    for dx in 0..<scale { out[row + dx * K] = level }
                                }
                            }
                        }
                    }
                }
            }
        }
        try AtomicFile.write(Data(encode(width: width, height: height, channels: K, pixels: picture)), to: path)
    }

    /// The bytes of a PNG of `grey` [H, W] row-major (8-bit greyscale).
    public static func encode(width: Int, height: Int, grey: [UInt8]) -> [UInt8] {
        encode(width: width, height: height, channels: 1, pixels: grey)
    }

    /// The bytes of a PNG of `rgb` [H, W, 3] row-major (8-bit truecolour).
    public static func encode(width: Int, height: Int, rgb: [UInt8]) -> [UInt8] {
        encode(width: width, height: height, channels: 3, pixels: rgb)
    }

    /// Signature, IHDR (8 bits per channel, not interlaced), one IDAT of zlib-compressed
    /// scanlines (each filter 0, None), IEND.
    private static func encode(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> [UInt8] {
        precondition(width > 0 && height > 0 && width <= Int(Int32.max) && height <= Int(Int32.max),
                     "a PNG is 1 to 2^31-1 pixels on a side, not \(width)x\(height)")
        precondition(pixels.count == width * height * channels, "\(pixels.count) values for a \(width)x\(height)x\(channels) picture")
        let row = width * channels
        var scanlines: [UInt8] = []
        scanlines.reserveCapacity(height * (row + 1))
        for y in 0..<height {
            scanlines.append(0)
            scanlines.append(contentsOf: pixels[(y * row)..<((y + 1) * row)])
        }
        var compressed = [UInt8](repeating: 0, count: Int(compressBound(uLong(scanlines.count))))
        var size = uLong(compressed.count)
        let status = compress2(&compressed, &size, scanlines, uLong(scanlines.count), Z_BEST_COMPRESSION)
        precondition(status == Z_OK, "zlib compress2 failed with status \(status)")

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        // Width, height, bit depth 8, colour type 0 (grey) or 2 (RGB), compression, filter, interlace.
        appendChunk("IHDR", bigEndian(width) + bigEndian(height) + [8, channels == 3 ? 2 : 0, 0, 0, 0], to: &png)
        appendChunk("IDAT", Array(compressed[..<Int(size)]), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// [-1, 1] → 0...255, rounded; outside values clamped, NaN as -1.
    @inline(__always)
    private static func level(_ value: Float) -> UInt8 {
        UInt8(((Float.minimum(Float.maximum(value, -1), 1) + 1) * 127.5).rounded())
    }

    private static func bigEndian(_ value: Int) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
    }

    /// Length, type, data, and the CRC-32 of type and data.
    private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let body = Array(type.utf8) + data
        png += bigEndian(data.count)
        png += body
        png += bigEndian(Int(crc32(0, body, uInt(body.count))))
    }
}
