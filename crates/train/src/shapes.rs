//! A labelled image folder made here, with no downloads: procedurally drawn shapes and
//! textures, each class a kind of figure at a random position, size, rotation and colour
//! over a noisy background. Used by the tests, the demo's default weights and the
//! experiments in `docs/`.

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::rng::Rng;

/// The classes, in order.
pub const CLASSES: [&str; 10] = [
    "circle",
    "square",
    "triangle",
    "cross",
    "ring",
    "star",
    "stripes",
    "checkerboard",
    "dots",
    "crescent",
];

pub struct ShapesConfig {
    pub classes: usize,
    pub per_class: usize,
    pub size: u32,
    pub seed: u64,
}

/// Writes `root/<class>/<class>_NNNN.png`; returns the number of images.
pub fn write_dataset(root: &Path, config: &ShapesConfig) -> std::io::Result<usize> {
    let classes = config.classes.clamp(2, CLASSES.len());
    let mut written = 0;
    for (label, name) in CLASSES.iter().take(classes).enumerate() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)?;
        for i in 0..config.per_class {
            let mut rng = Rng::at(&[config.seed, label as u64, i as u64]);
            let img = draw(label, config.size, &mut rng);
            img.save(dir.join(format!("{name}_{i:04}.png")))
                .map_err(std::io::Error::other)?;
            written += 1;
        }
    }
    Ok(written)
}

fn colour(rng: &mut Rng) -> [f32; 3] {
    [
        rng.range(0.0, 255.0) as f32,
        rng.range(0.0, 255.0) as f32,
        rng.range(0.0, 255.0) as f32,
    ]
}

/// One image of class `label`.
pub fn draw(label: usize, size: u32, rng: &mut Rng) -> RgbImage {
    let background = colour(rng);
    // A foreground far enough from the background to be seen.
    let mut foreground = colour(rng);
    while foreground
        .iter()
        .zip(&background)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        < 180.0
    {
        foreground = colour(rng);
    }
    let s = size as f64;
    let radius = rng.range(0.22, 0.4);
    let (cx, cy) = (rng.range(radius, 1.0 - radius), rng.range(radius, 1.0 - radius));
    let angle = rng.range(0.0, std::f64::consts::TAU);
    let period = rng.range(0.08, 0.16);
    let noise = rng.range(4.0, 20.0) as f32;
    let (sin, cos) = angle.sin_cos();
    let mut pixel_rng = Rng::at(&[rng.next_u64()]);
    RgbImage::from_fn(size, size, |px, py| {
        let (x, y) = ((px as f64 + 0.5) / s - cx, (py as f64 + 0.5) / s - cy);
        // Coordinates in the figure's rotated frame, in units of its radius.
        let (u, v) = ((x * cos + y * sin) / radius, (-x * sin + y * cos) / radius);
        let r = (u * u + v * v).sqrt();
        let inside = match label {
            0 => r < 1.0,
            1 => u.abs() < 0.8 && v.abs() < 0.8,
            2 => v > -0.6 && v < 0.9 && u.abs() < (0.9 - v) * 0.6,
            3 => (u.abs() < 0.28 && v.abs() < 1.0) || (v.abs() < 0.28 && u.abs() < 1.0),
            4 => r < 1.0 && r > 0.6,
            5 => {
                let theta = v.atan2(u);
                r < 0.45 + 0.5 * (0.5 + 0.5 * (5.0 * theta).cos()).powf(2.0)
            }
            6 => ((u * radius / period).floor() as i64).rem_euclid(2) == 0,
            7 => {
                let (a, b) = (
                    (u * radius / period).floor() as i64,
                    (v * radius / period).floor() as i64,
                );
                (a + b).rem_euclid(2) == 0
            }
            8 => {
                let (a, b) = (u * radius / period, v * radius / period);
                let (fa, fb) = (a - a.round(), b - b.round());
                (fa * fa + fb * fb).sqrt() < 0.3
            }
            _ => r < 1.0 && ((u - 0.45).powi(2) + v * v).sqrt() > 0.8,
        };
        let base = if inside { foreground } else { background };
        let mut n = || (pixel_rng.unit() as f32 - 0.5) * 2.0 * noise;
        Rgb([
            (base[0] + n()).clamp(0.0, 255.0) as u8,
            (base[1] + n()).clamp(0.0, 255.0) as u8,
            (base[2] + n()).clamp(0.0, 255.0) as u8,
        ])
    })
}
