//! Image files to network input: timm's eval transform reproduced, every common kind of
//! photo accepted, and broken files refused with an error.

mod common;

use inception_test_support::png::png_header_only;
use std::io::Cursor;

use burn::prelude::*;
use common::*;
use image::{DynamicImage, ImageFormat};
use inception::preprocess::ImageError;
use inception::{Arch, Preprocess, decode_image, load_weights};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data");

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Our decode + resize + crop + normalise equals timm's eval transform on the fixture's
/// PNG, and so do the logits.
fn pipeline_matches_timm(arch: Arch) {
    let dir = fixture_dir(arch);
    let image = decode_image(&std::fs::read(dir.join("input.png")).unwrap()).unwrap();
    let ours = Preprocess::timm_eval(arch).apply(&image);
    let timm = read_f32(dir.join("input_timm_eval.f32"));
    let diff = max_abs_diff(&ours, &timm);
    let differing = ours.iter().zip(&timm).filter(|(a, b)| a != b).count();
    println!(
        "{arch}: preprocessing max |ours - timm| = {diff:.3e}, {differing} of {} values differ",
        ours.len()
    );
    // Pillow's fixed-point bicubic is reproduced exactly; allow one u8 step (2/255 after
    // normalisation) in case a Pillow release changes its rounding.
    assert!(
        diff <= 2.0 / 255.0 + 1e-6,
        "{arch}: preprocessing differs from timm by {diff}"
    );

    let device = Device::flex();
    let network = load_weights(
        std::fs::read(dir.join("weights.safetensors")).unwrap(),
        Some(arch),
        "",
        &device,
    )
    .unwrap()
    .network;
    let x = Tensor::<4>::from_data(TensorData::new(ours, [1, 3, 299, 299]), &device);
    let logits = to_vec(network.forward(x));
    let expected = read_f32(dir.join("logits_timm_eval.f32"));
    let diff = max_abs_diff(&logits, &expected);
    println!("{arch}: image-file logits max |ours - timm| = {diff:.3e}");
    assert!(diff <= 1e-4, "{arch}: logits from the image file differ by {diff}");
    assert_eq!(top5(&logits), top5(&expected));
}

#[test]
fn inception_resnet_v2_pipeline_matches_timm() {
    pipeline_matches_timm(Arch::InceptionResnetV2);
}

#[test]
fn inception_v4_pipeline_matches_timm() {
    pipeline_matches_timm(Arch::InceptionV4);
}

fn gradient(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128]))
}

#[test]
fn odd_pixel_formats_decode_to_rgb() {
    let rgb = DynamicImage::ImageRgb8(gradient(40, 30));
    let cases = [
        ("gray8", DynamicImage::ImageLuma8(rgb.to_luma8())),
        ("gray16", DynamicImage::ImageLuma16(rgb.to_luma16())),
        ("gray+alpha", DynamicImage::ImageLumaA8(rgb.to_luma_alpha8())),
        ("rgba8", DynamicImage::ImageRgba8(rgb.to_rgba8())),
        ("rgb16", DynamicImage::ImageRgb16(rgb.to_rgb16())),
        ("rgba16", DynamicImage::ImageRgba16(rgb.to_rgba16())),
    ];
    for (name, img) in cases {
        // The image crate's TIFF encoder cannot write gray+alpha; PNG covers that one.
        let formats: &[ImageFormat] = if name == "gray+alpha" {
            &[ImageFormat::Png]
        } else {
            &[ImageFormat::Png, ImageFormat::Tiff]
        };
        for &format in formats {
            let decoded =
                decode_image(&encode(img.clone(), format)).unwrap_or_else(|e| panic!("{name} {format:?}: {e}"));
            assert_eq!(decoded.dimensions(), (40, 30), "{name}");
            if !name.starts_with("gray") {
                assert_eq!(decoded, rgb.to_rgb8(), "{name} {format:?} keeps the colours");
            }
        }
    }
    let jpeg = decode_image(&encode(rgb.clone(), ImageFormat::Jpeg)).unwrap();
    assert_eq!(jpeg.dimensions(), (40, 30));
    let webp = decode_image(&encode(rgb, ImageFormat::WebP)).unwrap();
    assert_eq!(webp.dimensions(), (40, 30));
}

#[test]
fn cmyk_jpeg_decodes_to_the_right_colours() {
    // 60x40: red left half, blue right half, saved by Pillow as CMYK.
    let img = decode_image(&std::fs::read(format!("{DATA}/cmyk.jpg")).unwrap()).unwrap();
    assert_eq!(img.dimensions(), (60, 40));
    let left = img.get_pixel(5, 20).0;
    let right = img.get_pixel(55, 20).0;
    assert!(left[0] > 200 && left[1] < 60 && left[2] < 60, "left is red: {left:?}");
    assert!(
        right[2] > 200 && right[0] < 60 && right[1] < 60,
        "right is blue: {right:?}"
    );
}

#[test]
fn exif_orientation_is_applied() {
    // Stored 60x40 with red on the left; EXIF orientation 6 = turn 90 degrees clockwise,
    // so the image is 40x60 with red on top.
    let img = decode_image(&std::fs::read(format!("{DATA}/exif_rotate_90cw.jpg")).unwrap()).unwrap();
    assert_eq!(img.dimensions(), (40, 60));
    let top = img.get_pixel(20, 5).0;
    let bottom = img.get_pixel(20, 55).0;
    assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
    assert!(bottom[2] > 200 && bottom[0] < 60, "bottom is blue: {bottom:?}");
}

#[test]
fn broken_files_are_errors() {
    assert!(matches!(decode_image(&[]), Err(ImageError::Empty)));
    assert!(matches!(
        decode_image(b"%PDF-1.4 not an image"),
        Err(ImageError::UnknownFormat)
    ));

    let huge = decode_image(&png_header_only(30_000, 30_000)).unwrap_err();
    assert!(matches!(huge, ImageError::TooLarge(_)), "30000x30000: {huge}");

    let jpeg = encode(DynamicImage::ImageRgb8(gradient(64, 64)), ImageFormat::Jpeg);
    for cut in [jpeg.len() / 2, 20, 3] {
        let err = decode_image(&jpeg[..cut]);
        assert!(
            err.is_err(),
            "a JPEG cut at {cut} of {} bytes must not decode",
            jpeg.len()
        );
    }
    let png = encode(DynamicImage::ImageRgb8(gradient(64, 64)), ImageFormat::Png);
    assert!(decode_image(&png[..png.len() / 2]).is_err(), "truncated PNG");
}
