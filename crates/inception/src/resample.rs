//! Bicubic resampling that reproduces Pillow's `Image.resize(..., BICUBIC)` on 8-bit images,
//! which is what timm's eval transform runs (torchvision `Resize` on a PIL image).
//!
//! The algorithm follows Pillow's documented design: a separable convolution with the cubic
//! kernel a = -0.5, support widened by the scale factor when downsampling (antialiasing),
//! weights normalised per output pixel and quantised to 22-bit fixed point, the horizontal
//! pass first with its result rounded and clamped to u8, then the vertical pass. Matching it
//! bit for bit makes our logits match timm's instead of only resembling them.

use image::RgbImage;

const PRECISION_BITS: u32 = 32 - 8 - 2;
const BICUBIC_SUPPORT: f64 = 2.0;

fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// For each output index: first input index and the fixed-point weights.
struct Taps {
    start: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

fn taps(in_size: usize, out_size: usize) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = BICUBIC_SUPPORT * filter_scale;
    let mut start = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        // C's (int) cast truncates toward zero; clamp into the image afterwards.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let n = xmax.saturating_sub(xmin);
        let mut k: Vec<f64> = (0..n)
            .map(|x| bicubic((x as f64 + xmin as f64 - center + 0.5) / filter_scale))
            .collect();
        let total: f64 = k.iter().sum();
        if total != 0.0 {
            k.iter_mut().for_each(|w| *w /= total);
        }
        let one = (1u32 << PRECISION_BITS) as f64;
        let fixed = k
            .iter()
            .map(|&w| {
                if w < 0.0 {
                    (w * one - 0.5) as i32
                } else {
                    (w * one + 0.5) as i32
                }
            })
            .collect();
        start.push(xmin);
        weights.push(fixed);
    }
    Taps { start, weights }
}

fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

fn resize_horizontal(src: &RgbImage, out_w: u32) -> RgbImage {
    let (w, h) = src.dimensions();
    let t = taps(w as usize, out_w as usize);
    let mut out = RgbImage::new(out_w, h);
    let src_raw = src.as_raw();
    let row_len = w as usize * 3;
    for y in 0..h as usize {
        let row = &src_raw[y * row_len..(y + 1) * row_len];
        for (x, (&x0, k)) in t.start.iter().zip(&t.weights).enumerate() {
            let mut acc = [1i64 << (PRECISION_BITS - 1); 3];
            for (i, &w) in k.iter().enumerate() {
                let p = &row[(x0 + i) * 3..(x0 + i) * 3 + 3];
                for c in 0..3 {
                    acc[c] += p[c] as i64 * w as i64;
                }
            }
            out.put_pixel(
                x as u32,
                y as u32,
                image::Rgb([clip8(acc[0]), clip8(acc[1]), clip8(acc[2])]),
            );
        }
    }
    out
}

fn resize_vertical(src: &RgbImage, out_h: u32) -> RgbImage {
    let (w, h) = src.dimensions();
    let t = taps(h as usize, out_h as usize);
    let mut out = RgbImage::new(w, out_h);
    let src_raw = src.as_raw();
    let row_len = w as usize * 3;
    let out_raw: &mut [u8] = &mut out;
    for (y, (&y0, k)) in t.start.iter().zip(&t.weights).enumerate() {
        for i in 0..row_len {
            let mut acc = 1i64 << (PRECISION_BITS - 1);
            for (j, &w) in k.iter().enumerate() {
                acc += src_raw[(y0 + j) * row_len + i] as i64 * w as i64;
            }
            out_raw[y * row_len + i] = clip8(acc);
        }
    }
    out
}

/// Resizes like Pillow's `resize((width, height), Image.BICUBIC)`.
pub fn resize_bicubic(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w, h) = src.dimensions();
    let horizontal = if w != width {
        resize_horizontal(src, width)
    } else {
        src.clone()
    };
    if h != height {
        resize_vertical(&horizontal, height)
    } else {
        horizontal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_size_is_unchanged() {
        let img = RgbImage::from_fn(7, 5, |x, y| image::Rgb([x as u8 * 30, y as u8 * 40, 9]));
        assert_eq!(resize_bicubic(&img, 7, 5), img);
    }

    #[test]
    fn constant_image_stays_constant() {
        let img = RgbImage::from_pixel(13, 9, image::Rgb([200, 17, 255]));
        for (w, h) in [(5, 4), (30, 21), (13, 40)] {
            let out = resize_bicubic(&img, w, h);
            assert!(out.pixels().all(|p| p.0 == [200, 17, 255]), "{w}x{h}");
        }
    }

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (i, o) in [(299, 333), (4000, 333), (10, 3)] {
            for k in taps(i, o).weights {
                let s: i64 = k.iter().map(|&w| w as i64).sum();
                assert!((s - (1 << PRECISION_BITS)).abs() <= k.len() as i64, "{i}->{o}: {s}");
            }
        }
    }
}
