//! Training augmentation, as in Inception training pipelines (and torchvision's
//! `RandomResizedCrop`, `RandomHorizontalFlip`, `ColorJitter`): every choice is drawn from
//! the [`Rng`] it is given.

use image::RgbImage;
use image::imageops::{self, FilterType};
use inception::Preprocess;

use crate::config::TrainConfig;
use crate::rng::Rng;

/// The crop rectangle `(x, y, width, height)` of a random-resized crop, torchvision's
/// algorithm: ten tries at a random area and log-uniform aspect ratio, then the centre
/// crop at the nearest allowed ratio.
pub fn random_resized_crop_box(
    width: u32,
    height: u32,
    area: (f64, f64),
    ratio: (f64, f64),
    rng: &mut Rng,
) -> (u32, u32, u32, u32) {
    let (w, h) = (width as f64, height as f64);
    let total = w * h;
    for _ in 0..10 {
        let target = total * rng.range(area.0, area.1);
        let aspect = rng.range(ratio.0.ln(), ratio.1.ln()).exp();
        let cw = (target * aspect).sqrt().round();
        let ch = (target / aspect).sqrt().round();
        if cw >= 1.0 && ch >= 1.0 && cw <= w && ch <= h {
            let x = rng.below((w - cw) as usize + 1) as u32;
            let y = rng.below((h - ch) as usize + 1) as u32;
            return (x, y, cw as u32, ch as u32);
        }
    }
    let current = w / h;
    let (cw, ch) = if current < ratio.0 {
        (w, (w / ratio.0).round())
    } else if current > ratio.1 {
        ((h * ratio.1).round(), h)
    } else {
        (w, h)
    };
    let (cw, ch) = (cw.max(1.0) as u32, ch.max(1.0) as u32);
    ((width - cw) / 2, (height - ch) / 2, cw, ch)
}

/// One augmented training view, `[3, size, size]`, normalised with the mean and std of the
/// weights' own preprocessing (`normalise`), as the eval transform normalises.
pub fn train_view(
    img: &RgbImage,
    size: usize,
    config: &TrainConfig,
    normalise: &Preprocess,
    rng: &mut Rng,
) -> Vec<f32> {
    let (x, y, w, h) = random_resized_crop_box(img.width(), img.height(), config.crop_area, config.crop_ratio, rng);
    let crop = imageops::crop_imm(img, x, y, w, h).to_image();
    let mut view = imageops::resize(&crop, size as u32, size as u32, FilterType::Triangle);
    if config.horizontal_flip && rng.chance(0.5) {
        imageops::flip_horizontal_in_place(&mut view);
    }
    let mut pixels: Vec<[f32; 3]> = view.pixels().map(|p| p.0.map(|v| v as f32)).collect();
    if config.color_jitter > 0.0 {
        jitter(&mut pixels, config.color_jitter, rng);
    }
    to_chw(&pixels, size, normalise)
}

/// Brightness, contrast and saturation, each by a factor in `1 +- strength`.
fn jitter(pixels: &mut [[f32; 3]], strength: f32, rng: &mut Rng) {
    let s = strength as f64;
    let mut factor = || rng.range((1.0 - s).max(0.0), 1.0 + s) as f32;
    let (brightness, contrast, saturation) = (factor(), factor(), factor());
    let gray = |p: &[f32; 3]| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    for p in pixels.iter_mut() {
        *p = p.map(|v| v * brightness);
    }
    let mean = pixels.iter().map(gray).sum::<f32>() / pixels.len().max(1) as f32;
    for p in pixels.iter_mut() {
        *p = p.map(|v| (v - mean) * contrast + mean);
        let g = gray(p);
        *p = p.map(|v| (g + (v - g) * saturation).clamp(0.0, 255.0));
    }
}

fn to_chw(pixels: &[[f32; 3]], size: usize, normalise: &Preprocess) -> Vec<f32> {
    let plane = size * size;
    let mut out = vec![0.0; 3 * plane];
    for (i, p) in pixels.iter().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (p[c] / 255.0 - normalise.mean[c]) / normalise.std[c];
        }
    }
    out
}
