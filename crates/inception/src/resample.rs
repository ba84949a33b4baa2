//! Bicubic resampling that reproduces Pillow's `Image.resize(..., BICUBIC)` on 8-bit images,
//! which is what timm's eval transform runs (torchvision `Resize` on a PIL image).
//!
//! The algorithm follows Pillow's documented design: a separable convolution with the cubic
//! kernel a = -0.5, support widened by the scale factor when downsampling (antialiasing),
//! weights normalised per output pixel and quantised to 22-bit fixed point, the horizontal
//! pass first with its result rounded and clamped to u8, then the vertical pass. Matching it
//! bit for bit makes our logits match timm's instead of only resembling them.

use std::ops::Range;

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

/// For each output index of a range: first input index and the fixed-point weights.
struct Taps {
    start: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

impl Taps {
    /// The input indices these taps read: `first..end`.
    fn input_range(&self) -> Range<usize> {
        let first = self.start.iter().copied().min().unwrap_or(0);
        let end = self
            .start
            .iter()
            .zip(&self.weights)
            .map(|(&s, k)| s + k.len())
            .max()
            .unwrap_or(0);
        first..end
    }
}

/// Pillow's taps for the outputs `outputs` of a resize from `in_size` to `out_size`.
fn taps(in_size: usize, out_size: usize, outputs: Range<usize>) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = BICUBIC_SUPPORT * filter_scale;
    let mut start = Vec::with_capacity(outputs.len());
    let mut weights = Vec::with_capacity(outputs.len());
    for xx in outputs {
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

/// Taps that copy: the pass is skipped, as Pillow skips it when a side keeps its size.
fn identity(outputs: Range<usize>) -> Taps {
    Taps {
        start: outputs.clone().collect(),
        weights: outputs.map(|_| vec![1 << PRECISION_BITS]).collect(),
    }
}

fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// The horizontal pass over the rows `rows` of an RGB image `row_len` pixels wide: one output
/// pixel per tap. Weights of exactly one (an identity pass) reproduce the input byte for byte.
fn convolve_rows(src: &[u8], row_len: usize, rows: Range<usize>, taps: &Taps) -> Vec<u8> {
    let out_len = taps.start.len();
    let mut out = Vec::with_capacity(rows.len() * out_len * 3);
    for y in rows {
        let row = &src[y * row_len * 3..(y + 1) * row_len * 3];
        for (&x0, k) in taps.start.iter().zip(&taps.weights) {
            let mut acc = [1i64 << (PRECISION_BITS - 1); 3];
            for (i, &w) in k.iter().enumerate() {
                let p = &row[(x0 + i) * 3..(x0 + i) * 3 + 3];
                for c in 0..3 {
                    acc[c] += p[c] as i64 * w as i64;
                }
            }
            out.extend(acc.map(clip8));
        }
    }
    out
}

/// The vertical pass over a band of rows `row_bytes` wide whose first row is input row
/// `first_row`.
fn convolve_columns(src: &[u8], row_bytes: usize, first_row: usize, taps: &Taps) -> Vec<u8> {
    let mut out = Vec::with_capacity(taps.start.len() * row_bytes);
    for (&y0, k) in taps.start.iter().zip(&taps.weights) {
        for i in 0..row_bytes {
            let mut acc = 1i64 << (PRECISION_BITS - 1);
            for (j, &w) in k.iter().enumerate() {
                acc += src[(y0 - first_row + j) * row_bytes + i] as i64 * w as i64;
            }
            out.push(clip8(acc));
        }
    }
    out
}

/// A rectangle of an image's pixel grid, which may reach past its edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub left: i64,
    pub top: i64,
    pub width: u32,
    pub height: u32,
}

/// The pixels inside `window` of `src` resized like Pillow's `resize((width, height),
/// Image.BICUBIC)`, black where the window reaches past the resized image (torchvision's
/// `CenterCrop` padding).
///
/// Only the window is computed: the horizontal pass runs on the window's columns of the
/// input rows that the vertical pass reads, so memory and time follow the input and the
/// window, never the size of the whole resized image (a 16384x1 strip resized to a shorter
/// side of 333 would be 5.4 GB). Each computed pixel is the one the full resize makes.
pub fn resize_bicubic_window(src: &RgbImage, width: u32, height: u32, window: Window) -> RgbImage {
    let (src_w, src_h) = (src.width() as usize, src.height() as usize);
    let clamp = |start: i64, len: u32, size: u32| {
        let lo = start.clamp(0, size as i64) as usize;
        let hi = (start + len as i64).clamp(0, size as i64) as usize;
        lo..hi
    };
    let cols = clamp(window.left, window.width, width);
    let rows = clamp(window.top, window.height, height);
    let mut out = RgbImage::new(window.width, window.height);
    if cols.is_empty() || rows.is_empty() || src_w == 0 || src_h == 0 {
        return out;
    }
    let vertical = if src_h == height as usize {
        identity(rows.clone())
    } else {
        taps(src_h, height as usize, rows.clone())
    };
    let horizontal = if src_w == width as usize {
        identity(cols.clone())
    } else {
        taps(src_w, width as usize, cols.clone())
    };
    // Pillow resizes horizontally first, rounding to u8 between the passes.
    let needed_rows = vertical.input_range();
    let band = convolve_rows(src.as_raw(), src_w, needed_rows.clone(), &horizontal);
    let computed = convolve_columns(&band, cols.len() * 3, needed_rows.start, &vertical);
    let dx = (cols.start as i64 - window.left) as usize;
    let dy = (rows.start as i64 - window.top) as usize;
    let out_row = window.width as usize * 3;
    let out_raw: &mut [u8] = &mut out;
    for (y, line) in computed.chunks_exact(cols.len() * 3).enumerate() {
        let at = (dy + y) * out_row + dx * 3;
        out_raw[at..at + line.len()].copy_from_slice(line);
    }
    out
}

/// Resizes like Pillow's `resize((width, height), Image.BICUBIC)`.
pub fn resize_bicubic(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    let whole = Window {
        left: 0,
        top: 0,
        width,
        height,
    };
    resize_bicubic_window(src, width, height, whole)
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
            for k in taps(i, o, 0..o).weights {
                let s: i64 = k.iter().map(|&w| w as i64).sum();
                assert!((s - (1 << PRECISION_BITS)).abs() <= k.len() as i64, "{i}->{o}: {s}");
            }
        }
    }
}
