//! From image file bytes to the network's input: decoding any common photo (EXIF
//! orientation, grayscale, alpha, 16-bit, CMYK) with clear errors for the rest, then timm's
//! eval transform: bicubic resize of the shorter side to `floor(size / crop_pct)`, centre
//! crop, `(x / 255 - mean) / std`.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};
use serde::{Deserialize, Serialize};

use crate::arch::Arch;
use crate::resample::resize_bicubic;

/// Largest width or height accepted (a 16k panorama); larger claims are refused before
/// any pixel memory is allocated.
pub const MAX_IMAGE_SIDE: u32 = 16_384;
/// Most memory the decoder may allocate for one image.
pub const MAX_DECODE_BYTES: u64 = 1 << 30;

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
    let orientation = decoder.orientation().map_err(classify)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(classify)?;
    img.apply_orientation(orientation);
    if img.width() == 0 || img.height() == 0 {
        return Err(ImageError::NoPixels);
    }
    Ok(img.to_rgb8())
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

    /// Shorter side after the resize: `floor(input_size / crop_pct)`.
    pub fn resize_size(&self) -> usize {
        (self.input_size as f64 / self.crop_pct).floor() as usize
    }

    /// Resize + centre crop, as torchvision's `Resize(int)` and `CenterCrop` compute them.
    pub fn resize_and_crop(&self, img: &RgbImage) -> RgbImage {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let short_target = self.resize_size();
        let (short, long) = if w <= h { (w, h) } else { (h, w) };
        let long_target = (short_target as f64 * long as f64 / short as f64) as usize;
        let (new_w, new_h) = if w <= h {
            (short_target, long_target)
        } else {
            (long_target, short_target)
        };
        let resized = resize_bicubic(img, new_w.max(1) as u32, new_h.max(1) as u32);
        center_crop(&resized, self.input_size)
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

/// Python's `round()`: halves go to the even neighbour.
fn round_half_even(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2 * (x / 2.0).round() as i64
    } else {
        r as i64
    }
}

/// torchvision `CenterCrop(size)` for an image at least `size` on each side; a smaller
/// image is padded with black first, as torchvision does.
fn center_crop(img: &RgbImage, size: usize) -> RgbImage {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let s = size as i64;
    let top = round_half_even((h - s) as f64 / 2.0);
    let left = round_half_even((w - s) as f64 / 2.0);
    RgbImage::from_fn(size as u32, size as u32, |x, y| {
        let (sx, sy) = (x as i64 + left, y as i64 + top);
        if (0..w).contains(&sx) && (0..h).contains(&sy) {
            *img.get_pixel(sx as u32, sy as u32)
        } else {
            image::Rgb([0, 0, 0])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn empty_and_garbage_are_errors() {
        assert!(matches!(decode_image(&[]), Err(ImageError::Empty)));
        assert!(matches!(
            decode_image(b"hello, this is text"),
            Err(ImageError::UnknownFormat)
        ));
    }
}
