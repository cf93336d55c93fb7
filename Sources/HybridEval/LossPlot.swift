import HybridTrain
import Foundation

/// Loss curves of a run (`hybrid plot`): one panel per objective, the training loss at every
/// logged step and the validation loss at every evaluation, with labelled axes, as an RGB PNG.
public enum LossPlot {
    static let trainColor: (UInt8, UInt8, UInt8) = (31, 119, 180)
    static let validationColor: (UInt8, UInt8, UInt8) = (230, 110, 0)
    static let ink: (UInt8, UInt8, UInt8) = (40, 40, 40)
    static let rule: (UInt8, UInt8, UInt8) = (225, 225, 225)

    /// Writes the plot of `records` to `path` (atomically).
    public static func write(_ records: [MetricsLog.Record], title: String, to path: String) throws {
        var names: [String] = []
        for r in records { for name in r.loss.keys.sorted() where !names.contains(name) { names.append(name) } }
        guard !names.isEmpty else { throw TrainError("\(title): the metrics hold no losses to plot yet") }
        let panelHeight = 230, width = 760, top = 34
        var canvas = Canvas(width: width, height: top + names.count * panelHeight)
        canvas.text(title, x: 12, y: 10, scale: 2, color: ink)
        let lastStep = max(records.map(\.step).max() ?? 1, 1)
        for (index, name) in names.enumerated() {
            let trainPoints = records.filter { $0.kind == "train" }.compactMap { r in r.loss[name].map { (r.step, $0) } }
            let evalPoints = records.filter { $0.kind == "eval" }.compactMap { r in r.loss[name].map { (r.step, $0) } }
            let frame = (x: 80, y: top + index * panelHeight + 26, width: width - 110, height: panelHeight - 70)
            panel(&canvas, name: name, frame: frame, lastStep: lastStep, train: trainPoints, validation: evalPoints)
        }
        try AtomicFile.write(Data(PNG.encode(width: canvas.width, height: canvas.height, rgb: canvas.pixels)), to: path)
    }

    private static func panel(_ c: inout Canvas, name: String, frame f: (x: Int, y: Int, width: Int, height: Int), lastStep: Int,
                              train: [(Int, Double)], validation: [(Int, Double)]) {
        let values = (train + validation).map(\.1).filter(\.isFinite)
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-9 { low -= 0.5; high += 0.5 }
        let pad = (high - low) * 0.05
        low -= pad; high += pad
        func px(_ step: Int) -> Int { f.x + Int((Double(step) / Double(lastStep) * Double(f.width - 1)).rounded()) }
        func py(_ v: Double) -> Int { f.y + f.height - 1 - Int(((v - low) / (high - low) * Double(f.height - 1)).rounded()) }
        // Grid, ticks and labels.
        for i in 0...4 {
            let v = low + (high - low) * Double(i) / 4, y = py(v)
            c.line(f.x, y, f.x + f.width - 1, y, color: rule)
            let label = String(format: "%.3g", v)
            c.text(label, x: f.x - 8 - label.count * 6, y: y - 3, scale: 1, color: ink)
        }
        for i in 0...4 {
            let step = lastStep * i / 4, x = px(step)
            c.line(x, f.y + f.height, x, f.y + f.height + 4, color: ink)
            let label = String(step)
            c.text(label, x: x - label.count * 3, y: f.y + f.height + 8, scale: 1, color: ink)
        }
        c.line(f.x, f.y, f.x, f.y + f.height, color: ink)
        c.line(f.x, f.y + f.height, f.x + f.width - 1, f.y + f.height, color: ink)
        c.text(name, x: f.x, y: f.y - 20, scale: 2, color: ink)
        c.text("loss", x: 8, y: f.y + f.height / 2, scale: 1, color: ink)
        c.text("step", x: f.x + f.width / 2 - 12, y: f.y + f.height + 20, scale: 1, color: ink)
        // Legend.
        let legendX = f.x + f.width - 170
        c.fill(legendX, f.y - 16, 14, 3, color: trainColor)
        c.text("train", x: legendX + 20, y: f.y - 18, scale: 1, color: ink)
        c.fill(legendX + 70, f.y - 16, 14, 3, color: validationColor)
        c.text("validation", x: legendX + 90, y: f.y - 18, scale: 1, color: ink)
        // Curves.
        for (a, b) in zip(train, train.dropFirst()) where a.1.isFinite && b.1.isFinite {
            c.line(px(a.0), py(a.1), px(b.0), py(b.1), color: trainColor)
        }
        for (a, b) in zip(validation, validation.dropFirst()) where a.1.isFinite && b.1.isFinite {
            c.line(px(a.0), py(a.1), px(b.0), py(b.1), color: validationColor)
        }
        for (step, v) in validation where v.isFinite { c.fill(px(step) - 2, py(v) - 2, 5, 5, color: validationColor) }
    }
}

/// An RGB raster with the few primitives a plot needs.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func set(_ x: Int, _ y: Int, color: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = color.0
        pixels[i + 1] = color.1
        pixels[i + 2] = color.2
    }

    mutating func fill(_ x: Int, _ y: Int, _ w: Int, _ h: Int, color: (UInt8, UInt8, UInt8)) {
        for yy in y..<(y + h) { for xx in x..<(x + w) { set(xx, yy, color: color) } }
    }

    /// Bresenham's line, 2 pixels thick vertically so curves read at a glance.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, color: (UInt8, UInt8, UInt8)) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            set(x, y, color: color)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    mutating func text(_ s: String, x: Int, y: Int, scale: Int, color: (UInt8, UInt8, UInt8)) {
        for (i, ch) in s.enumerated() {
            for gy in 0..<BitmapFont.height {
                for gx in 0..<BitmapFont.width where BitmapFont.pixel(ch, gx, gy) {
                    fill(x + (i * (BitmapFont.width + 1) + gx) * scale, y + gy * scale, scale, scale, color: color)
                }
            }
        }
    }
}
