//! From image file bytes to the network's input: decoding any common photo (EXIF
//! orientation, grayscale, alpha, 16-bit, CMYK) with clear errors for the rest, then timm's
//! eval transform: bicubic resize of the shorter side to `floor(size / crop_pct)`, centre
//! crop, `(x / 255 - mean) / std`.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};
use serde::{Deserialize, Serialize};

use crate::arch::Arch;
use crate::resample::{Window, resize_bicubic_window};

/// Largest width or height accepted (a 16k panorama); larger claims are refused before
/// any pixel memory is allocated.
pub const MAX_IMAGE_SIDE: u32 = 16_384;
/// Most memory the pixels of one image may take while it is decoded and converted to RGB
/// (decoder buffers, the decoded image and its RGB copy, at their peak). A wasm module has a
/// 4 GB address space that also holds the network, and an allocation that fails there
/// traps the module instead of returning an error: so a budget checked before decoding.
#[cfg(not(target_arch = "wasm32"))]
pub const MAX_DECODE_BYTES: u64 = 2 << 30;
#[cfg(target_arch = "wasm32")]
pub const MAX_DECODE_BYTES: u64 = 1 << 30;

/// Largest network input side a weights file may ask for.
pub const MAX_INPUT_SIZE: usize = 1024;
/// The range of `crop_pct` accepted from a file (timm's models use 0.75 to 1.0).
pub const MIN_CROP_PCT: f64 = 0.1;
pub const MAX_CROP_PCT: f64 = 1.5;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image file is empty")]
    Empty,
    #[error("not an image in a supported format (PNG, JPEG, WebP, GIF, BMP, TIFF)")]
    UnknownFormat,
    #[error("the image is too large: {0}")]
    TooLarge(String),
    #[error("the image could not be decoded (broken or truncated file): {0}")]
    Decode(String),
    #[error("the image has no pixels")]
    NoPixels,
    #[error("{len} bytes of pixels are not a {width}x{height} RGBA image ({width} x {height} x 4 bytes)")]
    PixelCount { len: usize, width: u32, height: u32 },
}

/// Decodes an image file, applies its EXIF orientation and converts it to 8-bit RGB (alpha
/// dropped, as PIL's `convert('RGB')` does in timm's loader).
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageError::Decode(e.to_string()))?;
    if reader.format().is_none() {
        return Err(ImageError::UnknownFormat);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageError::NoPixels);
    }
    // The decoded image and its RGB copy live at once; the copy is made before the EXIF
    // rotation, which copies again at RGB size.
    let rgb_bytes = 3 * width as u64 * height as u64;
    let peak = (decoder.total_bytes() + rgb_bytes).max(2 * rgb_bytes);
    if peak > MAX_DECODE_BYTES {
        return Err(ImageError::TooLarge(format!(
            "{width}x{height} pixels need {} MiB to decode, more than the {} MiB allowed",
            peak >> 20,
            MAX_DECODE_BYTES >> 20
        )));
    }
    let orientation = decoder.orientation().map_err(classify)?;
    let rgb = DynamicImage::from_decoder(decoder).map_err(classify)?.into_rgb8();
    let mut img = DynamicImage::ImageRgb8(rgb);
    img.apply_orientation(orientation);
    Ok(img.into_rgb8())
}

/// An RGBA frame (a canvas's `ImageData`, a camera frame) as RGB, alpha dropped as
/// [`decode_image`] drops it. The same size limit as a file's.
pub fn rgb_from_rgba(rgba: &[u8], width: u32, height: u32) -> Result<RgbImage, ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::NoPixels);
    }
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(ImageError::TooLarge(format!(
            "{width}x{height} pixels (at most {MAX_IMAGE_SIDE} a side)"
        )));
    }
    let pixels = width as usize * height as usize;
    if rgba.len() != 4 * pixels {
        return Err(ImageError::PixelCount {
            len: rgba.len(),
            width,
            height,
        });
    }
    let rgb = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    RgbImage::from_raw(width, height, rgb).ok_or(ImageError::NoPixels)
}

fn classify(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(l) => ImageError::TooLarge(format!(
            "{l} (at most {MAX_IMAGE_SIDE} pixels a side and {} MiB decoded)",
            MAX_DECODE_BYTES >> 20
        )),
        image::ImageError::Unsupported(u) => ImageError::Decode(u.to_string()),
        other => ImageError::Decode(other.to_string()),
    }
}

/// timm's eval transform for one model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Preprocess {
    /// Side of the square network input.
    pub input_size: usize,
    /// Fraction of the resized image that the centre crop keeps.
    pub crop_pct: f64,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Preprocess {
    /// The `tf_in1k` configuration of `arch` (Inception mean = std = 0.5).
    pub fn timm_eval(arch: Arch) -> Self {
        Self {
            input_size: arch.input_size(),
            crop_pct: arch.crop_pct(),
            mean: [0.5; 3],
            std: [0.5; 3],
        }
    }

    /// The same transform at another input size (for quick tests and small models).
    pub fn with_input_size(self, input_size: usize) -> Self {
        Self { input_size, ..self }
    }

    /// Checks a transform read from a file: sizes and values that preprocessing can run with.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_INPUT_SIZE).contains(&self.input_size) {
            return Err(format!(
                "input_size {} is outside 1..={MAX_INPUT_SIZE}",
                self.input_size
            ));
        }
        if !(self.crop_pct.is_finite() && (MIN_CROP_PCT..=MAX_CROP_PCT).contains(&self.crop_pct)) {
            return Err(format!(
                "crop_pct {} is outside {MIN_CROP_PCT}..={MAX_CROP_PCT}",
                self.crop_pct
            ));
        }
        if self.mean.iter().any(|m| !m.is_finite()) {
            return Err(format!("mean {:?} is not finite", self.mean));
        }
        if self.std.iter().any(|s| !s.is_finite() || s.abs() < 1e-6) {
            return Err(format!("std {:?} must be finite and not zero", self.std));
        }
        Ok(())
    }

    /// Shorter side after the resize: `floor(input_size / crop_pct)`.
    pub fn resize_size(&self) -> usize {
        (self.input_size as f64 / self.crop_pct).floor() as usize
    }

    /// Resize + centre crop, as torchvision's `Resize(int)` and `CenterCrop` compute them.
    /// Only the cropped pixels are computed, so the cost follows the input and the crop,
    /// whatever the aspect ratio.
    pub fn resize_and_crop(&self, img: &RgbImage) -> RgbImage {
        let ((new_w, new_h), window) = self.resize_and_window(img.width() as usize, img.height() as usize);
        resize_bicubic_window(img, new_w as u32, new_h as u32, window)
    }

    /// The size an image of `width x height` is resized to, and the crop window in it.
    fn resize_and_window(&self, w: usize, h: usize) -> ((usize, usize), Window) {
        let short_target = self.resize_size();
        let (short, long) = if w <= h { (w, h) } else { (h, w) };
        let long_target = (short_target as f64 * long as f64 / short.max(1) as f64) as usize;
        let (new_w, new_h) = if w <= h {
            (short_target, long_target)
        } else {
            (long_target, short_target)
        };
        let (new_w, new_h) = (new_w.max(1), new_h.max(1));
        let size = self.input_size as u32;
        let window = Window {
            left: crop_offset(new_w, self.input_size),
            top: crop_offset(new_h, self.input_size),
            width: size,
            height: size,
        };
        ((new_w, new_h), window)
    }

    /// The part of a `width x height` image that the network sees, in that image's pixels
    /// (what a page draws a class activation map over).
    pub fn crop_window(&self, width: usize, height: usize) -> CropWindow {
        let ((new_w, new_h), window) = self.resize_and_window(width, height);
        let (sx, sy) = (width as f64 / new_w as f64, height as f64 / new_h as f64);
        CropWindow {
            x: window.left as f64 * sx,
            y: window.top as f64 * sy,
            width: window.width as f64 * sx,
            height: window.height as f64 * sy,
        }
    }

    /// Normalises an RGB image into a `[3, h, w]` CHW vector.
    pub fn normalize(&self, img: &RgbImage) -> Vec<f32> {
        let plane = (img.width() * img.height()) as usize;
        let mut out = vec![0f32; 3 * plane];
        for (i, p) in img.pixels().enumerate() {
            for c in 0..3 {
                out[c * plane + i] = (p.0[c] as f32 / 255.0 - self.mean[c]) / self.std[c];
            }
        }
        out
    }

    /// The whole eval transform: `[3, input_size, input_size]` CHW.
    pub fn apply(&self, img: &RgbImage) -> Vec<f32> {
        self.normalize(&self.resize_and_crop(img))
    }
}

/// A rectangle in an image's own pixels (see [`Preprocess::crop_window`]).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CropWindow {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Python's `round()`: halves go to the even neighbour.
fn round_half_even(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2 * (x / 2.0).round() as i64
    } else {
        r as i64
    }
}

/// Where torchvision's `CenterCrop(size)` starts along a side of `len` pixels: rounded
/// half to even, or, for a side shorter than the crop, minus the padding it adds before.
fn crop_offset(len: usize, size: usize) -> i64 {
    if len >= size {
        round_half_even((len - size) as f64 / 2.0)
    } else {
        -(((size - len) / 2) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgba_frames_become_rgb_or_a_clear_error() {
        let rgba = [10, 20, 30, 255, 40, 50, 60, 0];
        let rgb = rgb_from_rgba(&rgba, 2, 1).unwrap();
        assert_eq!(rgb.as_raw(), &[10, 20, 30, 40, 50, 60]);
        assert!(matches!(
            rgb_from_rgba(&rgba, 1, 1),
            Err(ImageError::PixelCount { len: 8, .. })
        ));
        assert!(matches!(rgb_from_rgba(&[], 0, 5), Err(ImageError::NoPixels)));
        let huge = rgb_from_rgba(&rgba, MAX_IMAGE_SIDE + 1, 1).unwrap_err();
        assert!(huge.to_string().contains("too large"), "{huge}");
        // A width and height whose product overflows 32 bits is refused, not wrapped.
        assert!(rgb_from_rgba(&rgba, MAX_IMAGE_SIDE, MAX_IMAGE_SIDE).is_err());
    }

    #[test]
    fn python_rounding() {
        assert_eq!(round_half_even(0.5), 0);
        assert_eq!(round_half_even(1.5), 2);
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(-0.5), 0);
        assert_eq!(round_half_even(17.0), 17);
        assert_eq!(round_half_even(17.4), 17);
    }

    #[test]
    fn resize_sizes_follow_torchvision() {
        let p = Preprocess::timm_eval(Arch::InceptionResnetV2);
        assert_eq!(p.resize_size(), 333);
        assert_eq!(Preprocess::timm_eval(Arch::InceptionV4).resize_size(), 341);
        let img = RgbImage::new(640, 480);
        let out = p.resize_and_crop(&img);
        assert_eq!(out.dimensions(), (299, 299));
    }

    /// The window a page draws the map over: centred, square, the crop fraction of the short
    /// side (timm's 0.8975 for Inception), in the source image's pixels.
    #[test]
    fn crop_window_is_the_centre_the_network_sees() {
        let p = Preprocess::timm_eval(Arch::InceptionResnetV2);
        let fraction = p.input_size as f64 / p.resize_size() as f64;
        for (w, h) in [(400, 300), (300, 400), (1000, 1000), (299, 5000)] {
            let c = p.crop_window(w, h);
            let side = w.min(h) as f64 * fraction;
            assert!(
                (c.width - side).abs() < 1.0 && (c.height - side).abs() < 1.0,
                "{w}x{h}: {c:?}"
            );
            assert!((c.x + c.width / 2.0 - w as f64 / 2.0).abs() < 1.0, "{w}x{h}: {c:?}");
            assert!((c.y + c.height / 2.0 - h as f64 / 2.0).abs() < 1.0, "{w}x{h}: {c:?}");
        }
    }

    /// The crop computed alone equals the whole resize cropped afterwards.
    #[test]
    fn crop_window_equals_resize_then_crop() {
        let p = Preprocess::timm_eval(Arch::InceptionResnetV2).with_input_size(37);
        for (w, h) in [
            (64, 48),
            (48, 64),
            (41, 41),
            (500, 20),
            (7, 300),
            (1, 1),
            (3, 90),
            (45, 45),
        ] {
            let img = RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([(x * 37 + y * 11) as u8, (x * x + 3 * y) as u8, (x ^ y) as u8])
            });
            let (short, long) = (w.min(h) as usize, w.max(h) as usize);
            let target = p.resize_size();
            let long_target = (target as f64 * long as f64 / short as f64) as u32;
            let (nw, nh) = if w <= h {
                (target as u32, long_target)
            } else {
                (long_target, target as u32)
            };
            let full = crate::resample::resize_bicubic(&img, nw, nh);
            let (left, top) = (crop_offset(nw as usize, 37) as u32, crop_offset(nh as usize, 37) as u32);
            let want = image::imageops::crop_imm(&full, left, top, 37, 37).to_image();
            assert_eq!(p.resize_and_crop(&img), want, "{w}x{h}");
        }
    }

    /// A 16384x1 strip (a legal size) resized to a shorter side of 333 would be 5.4 million
    /// pixels long; the crop alone is 299x299.
    #[test]
    fn extreme_aspect_ratios_cost_only_the_crop() {
        let p = Preprocess::timm_eval(Arch::InceptionResnetV2);
        for (w, h) in [(16_384, 1), (2, 16_000)] {
            let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
            let input = p.apply(&img);
            assert_eq!(input.len(), 3 * 299 * 299, "{w}x{h}");
        }
    }

    #[test]
    fn empty_and_garbage_are_errors() {
        assert!(matches!(decode_image(&[]), Err(ImageError::Empty)));
        assert!(matches!(
            decode_image(b"hello, this is text"),
            Err(ImageError::UnknownFormat)
        ));
    }
}
